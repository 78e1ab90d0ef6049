"""ISO 3166-1 alpha-2 countries opsite knows, with the region each belongs to."""

from __future__ import annotations

import unicodedata

# code: (name, region). Regions are docs/definitions.md's Community.region values.
COUNTRIES: dict[str, tuple[str, str]] = {
    "AE": ("United Arab Emirates", "middle_east"),
    "AL": ("Albania", "eastern_europe"),
    "AM": ("Armenia", "eastern_europe"),
    "AO": ("Angola", "africa"),
    "AR": ("Argentina", "latin_america"),
    "AT": ("Austria", "western_europe"),
    "AU": ("Australia", "oceania"),
    "AZ": ("Azerbaijan", "eastern_europe"),
    "BA": ("Bosnia and Herzegovina", "eastern_europe"),
    "BD": ("Bangladesh", "asia"),
    "BE": ("Belgium", "western_europe"),
    "BF": ("Burkina Faso", "africa"),
    "BG": ("Bulgaria", "eastern_europe"),
    "BH": ("Bahrain", "middle_east"),
    "BJ": ("Benin", "africa"),
    "BO": ("Bolivia", "latin_america"),
    "BR": ("Brazil", "latin_america"),
    "BW": ("Botswana", "africa"),
    "BY": ("Belarus", "eastern_europe"),
    "CA": ("Canada", "north_america"),
    "CD": ("Democratic Republic of the Congo", "africa"),
    "CH": ("Switzerland", "western_europe"),
    "CI": ("Côte d'Ivoire", "africa"),
    "CL": ("Chile", "latin_america"),
    "CM": ("Cameroon", "africa"),
    "CN": ("China", "asia"),
    "CO": ("Colombia", "latin_america"),
    "CR": ("Costa Rica", "latin_america"),
    "CU": ("Cuba", "latin_america"),
    "CY": ("Cyprus", "western_europe"),
    "CZ": ("Czechia", "eastern_europe"),
    "DE": ("Germany", "western_europe"),
    "DK": ("Denmark", "western_europe"),
    "DO": ("Dominican Republic", "latin_america"),
    "DZ": ("Algeria", "africa"),
    "EC": ("Ecuador", "latin_america"),
    "EE": ("Estonia", "eastern_europe"),
    "EG": ("Egypt", "africa"),
    "ES": ("Spain", "western_europe"),
    "ET": ("Ethiopia", "africa"),
    "FI": ("Finland", "western_europe"),
    "FJ": ("Fiji", "oceania"),
    "FR": ("France", "western_europe"),
    "GB": ("United Kingdom", "western_europe"),
    "GE": ("Georgia", "eastern_europe"),
    "GH": ("Ghana", "africa"),
    "GR": ("Greece", "western_europe"),
    "GT": ("Guatemala", "latin_america"),
    "HK": ("Hong Kong", "asia"),
    "HN": ("Honduras", "latin_america"),
    "HR": ("Croatia", "eastern_europe"),
    "HT": ("Haiti", "latin_america"),
    "HU": ("Hungary", "eastern_europe"),
    "ID": ("Indonesia", "asia"),
    "IE": ("Ireland", "western_europe"),
    "IL": ("Israel", "middle_east"),
    "IN": ("India", "asia"),
    "IQ": ("Iraq", "middle_east"),
    "IR": ("Iran", "middle_east"),
    "IS": ("Iceland", "western_europe"),
    "IT": ("Italy", "western_europe"),
    "JM": ("Jamaica", "latin_america"),
    "JO": ("Jordan", "middle_east"),
    "JP": ("Japan", "asia"),
    "KE": ("Kenya", "africa"),
    "KH": ("Cambodia", "asia"),
    "KR": ("South Korea", "asia"),
    "KW": ("Kuwait", "middle_east"),
    "KZ": ("Kazakhstan", "asia"),
    "LB": ("Lebanon", "middle_east"),
    "LK": ("Sri Lanka", "asia"),
    "LT": ("Lithuania", "eastern_europe"),
    "LU": ("Luxembourg", "western_europe"),
    "LV": ("Latvia", "eastern_europe"),
    "LY": ("Libya", "africa"),
    "MA": ("Morocco", "africa"),
    "MD": ("Moldova", "eastern_europe"),
    "MG": ("Madagascar", "africa"),
    "MK": ("North Macedonia", "eastern_europe"),
    "ML": ("Mali", "africa"),
    "MN": ("Mongolia", "asia"),
    "MT": ("Malta", "western_europe"),
    "MU": ("Mauritius", "africa"),
    "MW": ("Malawi", "africa"),
    "MX": ("Mexico", "latin_america"),
    "MY": ("Malaysia", "asia"),
    "MZ": ("Mozambique", "africa"),
    "NA": ("Namibia", "africa"),
    "NE": ("Niger", "africa"),
    "NG": ("Nigeria", "africa"),
    "NI": ("Nicaragua", "latin_america"),
    "NL": ("Netherlands", "western_europe"),
    "NO": ("Norway", "western_europe"),
    "NP": ("Nepal", "asia"),
    "NZ": ("New Zealand", "oceania"),
    "OM": ("Oman", "middle_east"),
    "PA": ("Panama", "latin_america"),
    "PE": ("Peru", "latin_america"),
    "PG": ("Papua New Guinea", "oceania"),
    "PH": ("Philippines", "asia"),
    "PK": ("Pakistan", "asia"),
    "PL": ("Poland", "eastern_europe"),
    "PR": ("Puerto Rico", "latin_america"),
    "PS": ("Palestine", "middle_east"),
    "PT": ("Portugal", "western_europe"),
    "PY": ("Paraguay", "latin_america"),
    "QA": ("Qatar", "middle_east"),
    "RO": ("Romania", "eastern_europe"),
    "RS": ("Serbia", "eastern_europe"),
    "RU": ("Russia", "eastern_europe"),
    "RW": ("Rwanda", "africa"),
    "SA": ("Saudi Arabia", "middle_east"),
    "SD": ("Sudan", "africa"),
    "SE": ("Sweden", "western_europe"),
    "SG": ("Singapore", "asia"),
    "SI": ("Slovenia", "eastern_europe"),
    "SK": ("Slovakia", "eastern_europe"),
    "SN": ("Senegal", "africa"),
    "SV": ("El Salvador", "latin_america"),
    "SY": ("Syria", "middle_east"),
    "TG": ("Togo", "africa"),
    "TH": ("Thailand", "asia"),
    "TN": ("Tunisia", "africa"),
    "TR": ("Türkiye", "middle_east"),
    "TT": ("Trinidad and Tobago", "latin_america"),
    "TW": ("Taiwan", "asia"),
    "TZ": ("Tanzania", "africa"),
    "UA": ("Ukraine", "eastern_europe"),
    "UG": ("Uganda", "africa"),
    "US": ("United States", "north_america"),
    "UY": ("Uruguay", "latin_america"),
    "UZ": ("Uzbekistan", "asia"),
    "VE": ("Venezuela", "latin_america"),
    "VN": ("Vietnam", "asia"),
    "YE": ("Yemen", "middle_east"),
    "ZA": ("South Africa", "africa"),
    "ZM": ("Zambia", "africa"),
    "ZW": ("Zimbabwe", "africa"),
}

COUNTRY_CHOICES: list[tuple[str, str]] = sorted(
    ((code, name) for code, (name, _) in COUNTRIES.items()), key=lambda c: c[1]
)


def region_for_country(code: str) -> str:
    """The region of an ISO country code; ``other`` regions do not exist, so unknown raises."""
    try:
        return COUNTRIES[code.upper()][1]
    except KeyError:
        raise KeyError(f"unknown country code {code!r}") from None


# Other names people type for a country, matched like its own name.
ALSO_KNOWN_AS: dict[str, tuple[str, ...]] = {
    "AE": ("UAE",),
    "CD": ("DRC", "Congo"),
    "CI": ("Ivory Coast",),
    "CZ": ("Czech Republic",),
    "GB": ("UK", "Britain", "Great Britain", "England", "Scotland", "Wales"),
    "KR": ("Korea",),
    "MK": ("Macedonia",),
    "NL": ("Holland",),
    "TR": ("Turkey",),
    "US": ("USA", "United States of America"),
}


def _folded(text: str) -> str:
    """Lower case without accents: "Türkiye" and "turkiye", "Côte d'Ivoire" and "cote d'ivoire" match."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def country_codes_matching(term: str) -> set[str]:
    """The codes of the countries a search term names: ``"Kenya"`` gives ``{"KE"}``.

    A term names a country when it is its code (``"ke"``), its name or one of its other names
    (``"UK"``), or, from four letters on, the start of one of those or of a word in them
    (``"south"``: South Africa and South Korea; ``"ivoire"``). Accents and case do not matter.
    Shorter pieces are left out, so that a search for "uni" or "the" does not pull in every
    community of the United States or of the Democratic Republic of the Congo.
    """
    folded = _folded(term)
    codes = {folded.upper()} & COUNTRIES.keys() if len(folded) == 2 else set()
    for code, (name, _region) in COUNTRIES.items():
        for known in (name, *ALSO_KNOWN_AS.get(code, ())):
            known = _folded(known)
            if folded == known:
                codes.add(code)
            elif len(folded) >= 4:
                words = known.replace("'", " ").replace("-", " ").split()
                if known.startswith(folded) or any(word.startswith(folded) for word in words):
                    codes.add(code)
    return codes
