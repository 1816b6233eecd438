"""SCEP paths: per service, and the default service at the paths existing device profiles use.

/scep/<slug> (and /scep/<slug>/pkiclient.exe) is that SCEP service; /scep, /certsrv/mscep/mscep.dll (and
.../mscep.dll/pkiclient.exe) and /cgi-bin/pkiclient.exe are the default service. /certsrv/mscep_admin/ is
a 404: certportal has no NDES admin page handing out challenges.
"""

from django.urls import path, re_path

from enrollment.views import ScepView, ndes_admin_view

view = ScepView.as_view()

urlpatterns = [
    path("scep", view, name="scep-default"),
    path("scep/", view),
    path("scep/<slug:slug>", view, name="scep"),
    re_path(r"^scep/(?P<slug>[-a-zA-Z0-9_]+)/pkiclient\.exe$", view),
    re_path(r"^certsrv/mscep/mscep\.dll(?:/pkiclient\.exe)?$", view, name="scep-ndes"),
    path("cgi-bin/pkiclient.exe", view),
    re_path(r"^certsrv/mscep_admin(?:/.*)?$", ndes_admin_view, name="ndes-admin"),
]
