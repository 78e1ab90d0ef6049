import os

from django.core.wsgi import get_wsgi_application

# Production by default: a deploy that forgets DJANGO_SETTINGS_MODULE must not run with
# DEBUG on and the development secret (it refuses to start without DJANGO_SECRET_KEY).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsite.settings.production")

application = get_wsgi_application()
