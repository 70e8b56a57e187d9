from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.integrations.personio import views

app_name = "personio"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.integration, name="integration"),
    path("connect/", views.connect, name="connect"),
    path("auto-invite/", views.auto_invite, name="auto_invite"),
    path("sync/", views.sync_now, name="sync_now"),
    path("pause/", views.pause, name="pause"),
    path("webhooks/repair/", views.repair_webhooks, name="repair_webhooks"),
    path("delta-interval/", views.delta_interval, name="delta_interval"),
    path("resume/", views.resume, name="resume"),
    path("preview/", views.preview, name="preview"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/status.json", views.run_status, name="run_status"),
    path("runs/<int:pk>/changes.csv", views.run_csv, name="run_csv"),
    path("runs/<int:pk>/confirm/", views.confirm_run, name="confirm_run"),
    path("runs/<int:pk>/discard/", views.discard_run, name="discard_run"),
    path("allow-again/", views.allow_again, name="allow_again"),
]
