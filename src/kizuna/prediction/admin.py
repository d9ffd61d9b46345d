from django.contrib import admin

from kizuna.prediction.models import ChurnModel, ChurnPrediction


@admin.register(ChurnModel)
class ChurnModelAdmin(admin.ModelAdmin[ChurnModel]):
    list_display = [
        "pk",
        "as_of",
        "horizon_days",
        "training_rows",
        "training_churned",
        "trained_at",
    ]
    readonly_fields = ["parameters"]


@admin.register(ChurnPrediction)
class ChurnPredictionAdmin(admin.ModelAdmin[ChurnPrediction]):
    list_display = ["account", "as_of", "probability", "model"]
    list_filter = ["as_of"]
    search_fields = ["account__name"]
    raw_id_fields = ["account"]
    readonly_fields = ["reasons"]
