from rest_framework.routers import SimpleRouter

from access.api import views

router = SimpleRouter()
router.register("api-tokens", views.ApiTokenViewSet, basename="apitoken")

urlpatterns = router.urls
