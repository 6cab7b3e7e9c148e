from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    return render(request, "dashboard/home.html")


@login_required
def section(request, section: str):
    return render(request, "dashboard/section.html", {"section": section})
