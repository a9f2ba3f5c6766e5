from django.urls import path
from floor.pushes.views import push

urlpatterns = [path("push", push)]
