"""Deal pages, included under ``deals/``."""

from django.urls import path

from kizuna.pipeline import views, views_deal_form

urlpatterns = [
    path("", views.deal_list, name="deal_list"),
    path("board/", views.board, name="deal_board_default"),
    path("board/<slug:pipeline>/", views.board, name="deal_board"),
    path("new/", views_deal_form.deal_create, name="deal_create"),
    path("<int:pk>/", views.deal_detail, name="deal_detail"),
    path("<int:pk>/edit/", views_deal_form.deal_edit, name="deal_edit"),
    path("<int:pk>/move/", views.move, name="deal_move"),
]
