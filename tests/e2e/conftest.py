"""A real `streamlit run Home.py` on 127.0.0.1 over a fresh demo database, and Debian's chromium."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("KAOWU_REQUIRE_BROWSER"):
            pytest.fail("需要 /usr/bin/chromium（apt-get install -y chromium）")
        pytest.skip("no /usr/bin/chromium")
    data = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "KAOWU_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data / 'kaowu.db'}",
           "KAOWU_COOKIE_KEY": "e2e-" + "k" * 44, "KAOWU_BCRYPT_ROUNDS": "4"}
    subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "Home.py", "--server.address", "127.0.0.1",
                             "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.25)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield {"url": url, "env": env}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(page, url: str, username: str, password: str = "Kaowu2026demo") -> None:
    """Log in through the form and wait until the session cookie is set (its rerun is over)."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_label("用户名（通行证ID）").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    # the login's rerun and then the cookie's rerun: for a moment the stale 首页 shows beside the new one
    expect(page.get_by_text("欢迎", exact=True).first).to_be_visible()
    page.wait_for_function("document.cookie.includes('kaowu_auth')")
    expect(page.get_by_text("欢迎", exact=True)).to_have_count(1)


def fill_settled(page, label: str, value: str, attempts: int = 5) -> None:
    """Fill the one input labelled `label` once the page has settled: while a rerun is under way Streamlit
    can briefly show the stale widget next to the new one (two inputs with the same label), and a value
    typed into the stale one is lost. Retries until exactly one input holds `value`."""
    from playwright.sync_api import expect

    for _ in range(attempts):
        box = page.get_by_label(label, exact=True)
        expect(box).to_have_count(1)
        box.fill(value)
        page.wait_for_timeout(300)
        if box.count() == 1 and box.input_value() == value:
            return
    raise AssertionError(f"输入框“{label}”没有保持填写的值")
