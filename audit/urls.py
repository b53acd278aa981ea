from django.urls import path

from audit import twofactor

urlpatterns = [
    path("accounts/two-factor/", twofactor.verify, name="two_factor_verify"),
    path("accounts/two-factor/setup/", twofactor.setup, name="two_factor_setup"),
]
