"""Signing in and out in a real browser."""

from playwright.sync_api import Page, expect

from .conftest import Shooter, Site, sign_in


def test_sign_in_lists_only_my_organizations_and_sign_out_ends_the_session(
    page: Page, site: Site, shoot: Shooter
) -> None:
    site.org("acme")
    site.org("globex")
    site.admin("alice", "acme")

    page.goto(f"{site.url}/admin")
    expect(page).to_have_url(f"{site.url}/admin/login?next=/admin")
    shoot(page, "sign-in")
    sign_in(page, site, "alice")

    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    expect(page.get_by_role("link", name="acme")).to_be_visible()
    expect(page.get_by_text("globex")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{site.url}/admin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    page: Page, site: Site
) -> None:
    site.org("acme")
    site.admin("alice", "acme")
    page.goto(f"{site.url}/admin/login")
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("name or password is wrong")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
