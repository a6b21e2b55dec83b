"""The moments web pages, by audience: moment pages, admin pages, login, one's own account;
rendering apart."""

from fastapi import APIRouter

from services.moments.web import (
    account_pages,
    admin_pages,
    login_pages,
    moment_pages,
    people_pages,
)

router = APIRouter(include_in_schema=False)
for pages in (moment_pages, admin_pages, people_pages, login_pages, account_pages):
    router.include_router(pages.router)
