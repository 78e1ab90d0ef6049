import django.db.models.deletion
import opsite.core.dates
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('communities', '0004_plausible_dates'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImpactStory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('slug', models.SlugField(max_length=80, unique=True)),
                ('title', models.CharField(max_length=200)),
                ('published_on', models.DateField(validators=[opsite.core.dates.PlausibleDateValidator()])),
                ('category', models.CharField(choices=[('service_enhancements', 'Service enhancements'), ('community_impact', 'Community impact'), ('upstream_impact', 'Upstream impact'), ('organization', 'Organization')], max_length=30)),
                ('tags', models.JSONField(default=list, help_text='2 to 5 tags: lower-case words joined by hyphens.')),
                ('summary', models.TextField(help_text='A paragraph: what happened, for whom.', max_length=1000)),
                ('url', models.URLField(blank=True, help_text='Where the whole story is read.', max_length=300)),
                ('featured', models.BooleanField(default=False, help_text='Shown first in the gallery.')),
                ('published', models.BooleanField(default=False, help_text='Public: in the gallery and the public API.')),
                ('community', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='impact_stories', to='communities.community')),
            ],
            options={
                'verbose_name_plural': 'impact stories',
                'ordering': ['-published_on', 'slug'],
                'indexes': [models.Index(fields=['published', '-published_on'], name='kpis_story_published')],
                'constraints': [models.CheckConstraint(condition=models.Q(('category__in', ['service_enhancements', 'community_impact', 'upstream_impact', 'organization'])), name='kpis_impactstory_category_known'), models.CheckConstraint(condition=models.Q(('published', False), models.Q(('url', ''), _negated=True), _connector='OR'), name='kpis_impactstory_published_has_url')],
            },
        ),
    ]
