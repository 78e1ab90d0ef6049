"""``import_usage`` fed malformed files and Prometheus answers (issue 10, items 4 to 6).

Each input of the corpora below is one file a careless export or a broken server could give:
another encoding, a runaway header, a NUL, counts that Python's own parsers would read as
something else ("٣" as 3, "1,500" as 1500) or spend minutes on ("1e999999999"), timestamps that
overflow the conversion to a day. For every one the command exits with an error (stderr, exit 1
through ``manage.py``) that names the file and the line, row or series and field; nothing is
written, not even the good row next to the bad one; and it answers at once (the 1e999999999
once held a process for minutes building a billion-digit number).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from communities.models import ActiveUserCount, ClusterUsage, PrometheusSource
from communities.prometheus import cluster_usage_import

from .factories import HubFactory

pytestmark = pytest.mark.django_db

HEADER = "date,hub,users,cluster\n"
GOOD = "2024-05-31,h,4,2i2c\n"


@pytest.fixture
def hub():
    return HubFactory(slug="h", cluster="2i2c")


def hub_csv(*rows: str) -> str:
    return HEADER + GOOD + "".join(rows)


# (id, the file's bytes, what the error must say). The good row comes first in most: the file is
# one batch, so it must not be written either.
HUB_CSV_CORPUS: list[tuple[str, bytes, str]] = [
    ("latin-1", hub_csv("2024-06-01,h\xe9,5,2i2c\n").encode("latin-1"), "line 3 holds the byte 0xe9"),
    ("windows-1252", hub_csv("2024-06-01,h\u2019,5,2i2c\n").encode("cp1252"), "line 3 holds the byte 0x92"),
    ("utf-16", hub_csv().encode("utf-16"), "is UTF-16 text"),
    ("utf-16-be", hub_csv().encode("utf-16-be"), "line 1 contains a NUL character"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text"),
    ("header-128k", (HEADER.strip() + ",x" * 65536 + "\n" + GOOD).encode(), "the header (line 1) is 131,094"),
    ("header-no-newline", b"a" * 131072, "the header (line 1) is 131,072 characters long"),
    (
        "field-140k",
        hub_csv("2024-06-01,h," + "4" * 140_000 + ",2i2c\n").encode(),
        "line 3: not a readable CSV: field larger than",
    ),
    ("nul", hub_csv("2024-06-01,h,5\x00,2i2c\n").encode(), "line 3 contains a NUL character"),
    ("empty", b"", "missing column(s) date, hub, users, cluster"),
    ("wrong-columns", b"day,hub,count\n2024-05-31,h,4\n", "missing column(s) date, users, cluster"),
    (
        "superscript",
        hub_csv("2024-06-01,h,\u00b2,2i2c\n").encode(),
        "row 2, users: '²' is not a whole number",
    ),
    (
        "arabic-indic",
        hub_csv("2024-06-01,h,\u0663,2i2c\n").encode(),
        "row 2, users: '٣' is not a whole number",
    ),
    ("fullwidth", hub_csv("2024-06-01,h,\uff14,2i2c\n").encode(), "row 2, users: '４' is not a whole number"),
    ("exponent", hub_csv("2024-06-01,h,1e999999999,2i2c\n").encode(), "row 2, users: '1e999999999'"),
    ("thousands", hub_csv('2024-06-01,h,"1,500",2i2c\n').encode(), "row 2, users: '1,500' is not a whole"),
    ("thousands-dot", hub_csv("2024-06-01,h,1.500,2i2c\n").encode(), "row 2, users: '1.500' is not a whole"),
    ("negative", hub_csv("2024-06-01,h,-4,2i2c\n").encode(), "row 2, users: '-4' is not a whole number"),
    ("fraction", hub_csv("2024-06-01,h,12.5,2i2c\n").encode(), "row 2, users: '12.5' is not a whole number"),
    ("nan", hub_csv("2024-06-01,h,NaN,2i2c\n").encode(), "row 2, users: 'NaN' is not a whole number"),
    ("plus", hub_csv("2024-06-01,h,+4,2i2c\n").encode(), "row 2, users: '+4' is not a whole number"),
    ("too-many", hub_csv("2024-06-01,h,99999999999,2i2c\n").encode(), "row 2, users: 99999999999 is more"),
    ("long-digits", hub_csv("2024-06-01,h," + "9" * 5000 + ",2i2c\n").encode(), "row 2, users: '9999"),
    ("impossible-day", hub_csv("2024-02-30,h,5,2i2c\n").encode(), "row 2, date: '2024-02-30' is not a date"),
    ("basic-format-day", hub_csv("20240601,h,5,2i2c\n").encode(), "row 2, date: '20240601' is not a date"),
    ("arabic-day", hub_csv("٢٠٢٤-٠٦-٠١,h,5,2i2c\n").encode(), "row 2, date: '٢٠٢٤-٠٦-٠١' is not a date"),
    ("year-9999", hub_csv("9999-12-31,h,5,2i2c\n").encode(), "row 2, date: 9999-12-31 is outside the dates"),
    ("year-1", hub_csv("0001-01-31,h,5,2i2c\n").encode(), "row 2, date: 0001-01-31 is outside the dates"),
    ("long-hub", hub_csv("2024-06-01," + "h" * 300 + ",5,2i2c\n").encode(), "row 2, hub: 'hhhh"),
    ("repeated", hub_csv("2024-05-31,h,5,2i2c\n").encode(), "row 2, hub: h on 2024-05-31 is already given"),
    ("unclosed-quote", hub_csv('2024-06-01,"h,5,2i2c\n').encode(), "row 2, users: '' is not a whole"),
]


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in HUB_CSV_CORPUS], ids=[c[0] for c in HUB_CSV_CORPUS]
)
def test_a_malformed_hub_csv_fails_naming_the_line_and_writes_nothing(hub, tmp_path, content, expected):
    path = write(tmp_path, "hubs.csv", content)
    started = time.monotonic()

    with pytest.raises(CommandError) as failed:
        call_command("import_usage", "--hub-csv", str(path))

    assert time.monotonic() - started < 10  # milliseconds in fact; never a conversion that runs on

    message = str(failed.value)
    assert "per-hub usage hubs.csv: failed, nothing written: " in message
    assert expected in message
    assert len(message) < 2500  # a 140 KB cell is named, never echoed whole
    assert not ActiveUserCount.objects.exists()


CLUSTER_CSV_CORPUS: list[tuple[str, bytes, str]] = [
    (
        "latin-1",
        "date,cluster,unique_users\n2024-05-31,z\xfcrich,4\n".encode("latin-1"),
        "line 2 holds the byte",
    ),
    ("utf-16", "date,cluster,unique_users\n2024-05-31,2i2c,4\n".encode("utf-16"), "is UTF-16 text"),
    (
        "arabic-indic",
        "date,cluster,unique_users\n2024-05-31,2i2c,\u0663\n".encode(),
        "row 1, unique_users: '٣'",
    ),
    ("exponent", b"date,cluster,unique_users\n2024-05-31,2i2c,1e999999999\n", "row 1, unique_users: '1e99"),
    ("thousands", b'date,cluster,unique_users\n2024-05-31,2i2c,"1,204"\n', "row 1, unique_users: '1,204'"),
    ("negative", b"date,cluster,unique_users\n2024-05-31,2i2c,-1\n", "row 1, unique_users: '-1'"),
    ("year-9999", b"date,cluster,unique_users\n9999-12-31,2i2c,1\n", "row 1, date: 9999-12-31 is outside"),
    ("nul", b"date,cluster,unique_users\n2024-05-31,2i\x00c,1\n", "line 2 contains a NUL character"),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in CLUSTER_CSV_CORPUS], ids=[c[0] for c in CLUSTER_CSV_CORPUS]
)
def test_a_malformed_cluster_csv_fails_naming_the_row_and_writes_nothing(db, tmp_path, content, expected):
    path = write(tmp_path, "clusters.csv", content)

    with pytest.raises(CommandError) as failed:
        call_command("import_usage", "--cluster-csv", str(path))

    assert "per-cluster usage clusters.csv: failed, nothing written: " in str(failed.value)
    assert expected in str(failed.value)
    assert not ClusterUsage.objects.exists()


def answer(values: str, *, namespace: str = "h") -> str:
    """A query_range answer whose one series has ``values`` (JSON text): the first sample good."""
    return (
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"'
        + namespace
        + '","period":"30d"},"values":[[1717200000,"4"],'
        + values
        + "]}]}}"
    )


# Prometheus answers as saved files (the same parser reads the server's). 1717200000 is
# 2024-06-01T00:00:00Z, a good sample; the second one is the bad one.
PROMETHEUS_CORPUS: list[tuple[str, bytes, str]] = [
    ("nan-time-literal", answer('[NaN,"5"]').encode(), "is not valid JSON (NaN is not a JSON value)"),
    ("infinity-time", answer('[Infinity,"5"]').encode(), "is not valid JSON (Infinity is not a JSON value)"),
    (
        "nan-time-text",
        answer('["NaN","5"]').encode(),
        "series 1, sample 2: the time 'NaN' is not a unix time",
    ),
    ("time-1e20", answer('[1e20,"5"]').encode(), "series 1, sample 2: the time 1e+20 is not a unix time"),
    ("time-1e308", answer('[1e308,"5"]').encode(), "the time 1e+308 is not a unix time between"),
    ("time-huge-int", answer('[1000000000000000000000000000000,"5"]').encode(), "the time 1000000000000"),
    ("time-negative", answer('[-86400,"5"]').encode(), "the time -86400 is not a unix time between"),
    ("time-1970", answer('[86400,"5"]').encode(), "the time 86400 is not a unix time between 2000-01-01"),
    ("time-year-9999", answer('[253402214400,"5"]').encode(), "the time 253402214400 is not a unix time"),
    ("time-true", answer('[true,"5"]').encode(), "the time True is not a unix time"),
    ("value-superscript", answer('[1717286400,"\\u00b2"]').encode(), "the value '²' is not a whole number"),
    ("value-arabic-indic", answer('[1717286400,"\\u0663"]').encode(), "the value '٣' is not a whole number"),
    ("value-exponent", answer('[1717286400,"1e999999999"]').encode(), "the value '1e999999999' is not a"),
    ("value-prometheus-big", answer('[1717286400,"1e+21"]').encode(), "the value '1e+21' is not a whole"),
    ("value-thousands", answer('[1717286400,"1,500"]').encode(), "the value '1,500' is not a whole number"),
    ("value-negative", answer('[1717286400,"-4"]').encode(), "the value '-4' is not a whole number"),
    ("value-fraction", answer('[1717286400,"12.5"]').encode(), "the value '12.5' is not a whole number"),
    ("value-inf", answer('[1717286400,"+Inf"]').encode(), "the value '+Inf' is not a whole number"),
    ("value-nan", answer('[1717286400,"NaN"]').encode(), "the value 'NaN' is not a whole number"),
    ("value-number", answer("[1717286400,5]").encode(), "the value 5 is not a whole number of users"),
    ("value-long", answer('[1717286400,"' + "9" * 5000 + '"]').encode(), "the value '99999"),
    ("not-a-pair", answer("[1717286400]").encode(), "series 1: [1717286400] is not a"),
    ("nested", b"[" * 50_000 + b"]" * 50_000, "is nested too deeply"),
    (
        "latin-1",
        answer('[1717286400,"5"]', namespace="h\xe9").encode("latin-1"),
        "is not UTF-8 text (byte 0xe9",
    ),
    ("utf-16", answer('[1717286400,"5"]').encode("utf-16"), "is not UTF-8 text (byte 0xff at offset 0)"),
    ("truncated", answer('[1717286400,"5"]').encode()[:-3], "is not valid JSON"),
    ("html", b"<html><body>502 Bad Gateway</body></html>", "is an HTML page, not JSON"),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in PROMETHEUS_CORPUS], ids=[c[0] for c in PROMETHEUS_CORPUS]
)
def test_a_malformed_saved_prometheus_answer_fails_the_cluster_and_writes_nothing(
    hub, tmp_path, content, expected
):
    path = write(tmp_path, "usage.json", content)
    started = time.monotonic()

    with pytest.raises(CommandError) as failed:
        call_command("import_usage", "--cluster", "2i2c", "--from-file", str(path))

    assert time.monotonic() - started < 10

    message = str(failed.value)
    assert "cluster 2i2c: failed, nothing written: " in message
    assert expected in message
    assert len(message) < 2500
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("bad", ['[1e20,"5"]', '[1717286400,"1e999999999"]', '[1717286400,"\\u00b2"]'])
def test_a_server_answering_a_bad_sample_fails_its_cluster_alone(httpserver, hub, bad):
    source = PrometheusSource.objects.create(cluster="2i2c", url=httpserver.url_for("/"))
    httpserver.expect_request("/api/v1/query_range").respond_with_data(
        answer(bad), content_type="application/json"
    )

    report = cluster_usage_import(source=source, since=_day("2024-05-31"), until=_day("2024-06-01"))

    assert report.status == "failed"
    assert "series 1, sample 2" in report.error
    assert not ActiveUserCount.objects.exists()


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_a_good_file_still_imports(hub, tmp_path):
    # The corpus above is refused for what it holds, not because the reader refuses everything.
    hubs = write(tmp_path, "hubs.csv", hub_csv("2024-06-01,h,5,2i2c\n").encode())
    usage = write(tmp_path, "usage.json", answer('[1717286400,"7"]').encode())
    call_command("import_usage", "--hub-csv", str(hubs))
    call_command("import_usage", "--cluster", "2i2c", "--from-file", str(usage))

    # The same two 30d samples, the second corrected by the Prometheus answer.
    assert sorted(ActiveUserCount.objects.values_list("date", "period", "active_users")) == [
        (_day("2024-05-31"), "30d", 4),
        (_day("2024-06-01"), "30d", 7),
    ]
