"""The customer's pages: the progress page behind its signed link (no login)."""

from django.urls import path

from aftersales.web.views import progress

app_name = "customer"

urlpatterns = [
    path("<str:token>/", progress.progress, name="progress"),
]
