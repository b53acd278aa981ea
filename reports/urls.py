from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("compensation/", views.compensation_report, name="compensation"),
    path("compensation/export/<slug:fmt>/", views.compensation_export, name="compensation_export"),
    path("exports/<int:job_id>/", views.export_status, name="export"),
    path("exports/<int:job_id>/download/", views.export_download, name="export_download"),
    path("costs/", views.costs, name="costs"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("heatmap/", views.heatmap, name="heatmap"),
    path("words/", views.words, name="words"),
    path("team/", views.team, name="team"),
    path("templates/", views.template_effects_page, name="template_effects"),
    path("templates/health/", views.health_list, name="health_list"),
    path("templates/health/<str:month>/", views.health_detail, name="health"),
    path("templates/health/<str:month>/export/", views.health_export, name="health_export"),
]
