from rest_framework.routers import SimpleRouter

from directory.api import views

router = SimpleRouter()
router.register("users", views.DirectoryUserViewSet, basename="directoryuser")
router.register("devices", views.DeviceViewSet, basename="device")
router.register("groups", views.GroupViewSet, basename="group")
router.register("directory-import", views.DirectoryImportViewSet, basename="directoryimport")

urlpatterns = router.urls
