"""SCEP paths: per service, and the default service at the paths existing device profiles use."""

from django.urls import path, re_path

from enrollment.views import ScepView

view = ScepView.as_view()

urlpatterns = [
    path("scep", view, name="scep-default"),
    path("scep/", view),
    path("scep/<slug:slug>", view, name="scep"),
    re_path(r"^scep/(?P<slug>[-a-zA-Z0-9_]+)/pkiclient\.exe$", view),
    re_path(r"^certsrv/mscep/mscep\.dll(?:/pkiclient\.exe)?$", view, name="scep-ndes"),
    path("cgi-bin/pkiclient.exe", view),
]
