from rest_framework.routers import SimpleRouter

from eventlog.api import views

router = SimpleRouter()
router.register("connector-events", views.ConnectorEventViewSet, basename="connectorevent")

urlpatterns = router.urls
