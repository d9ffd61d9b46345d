"""Deal pages, included under ``deals/``."""

from django.urls import path

from kizuna.pipeline import views

urlpatterns = [
    path("", views.deal_list, name="deal_list"),
    path("board/", views.board, name="deal_board_default"),
    path("board/<slug:pipeline>/", views.board, name="deal_board"),
    path("<int:pk>/", views.deal_detail, name="deal_detail"),
    path("<int:pk>/move/", views.move, name="deal_move"),
]
