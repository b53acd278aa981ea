from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("After-sales back office")
admin.site.site_title = _("After-sales back office")
admin.site.index_title = _("Supervisor console")

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("api/v1/", include("aftersales.api.urls")),
    path("t/", include("aftersales.web.customer_urls")),  # the customer's progress links (workflow.links.PATH)
    path("", include("aftersales.web.urls")),
]
# Uploaded QC photos are never served from MEDIA_URL: the case page's photo view checks who may see them.

handler400 = "aftersales.api.errors.bad_request"
handler403 = "aftersales.api.errors.permission_denied"
handler500 = "aftersales.api.errors.server_error"
