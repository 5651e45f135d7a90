import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_layering_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_layout_of_the_design_card():
    for path in [
        "manage.py",
        "pyproject.toml",
        "uv.lock",
        "docker-compose.yml",
        "Dockerfile",
        "README.md",
        "Makefile",
        ".ci/run",
        "bench",
        "docs",
        "templates",
        "tests",
        "unicommerce/settings/base.py",
        "unicommerce/settings/local.py",
        "unicommerce/settings/test.py",
        "unicommerce/settings/production.py",
        "unicommerce/celery.py",
        "unicommerce/urls.py",
        "unicommerce/wsgi.py",
        "unicommerce/asgi.py",
    ]:
        assert (ROOT / path).exists(), path
    for app in ["catalog", "inventory", "orders", "customers", "payments", "loyalty", "pos"]:
        assert (ROOT / app / "apps.py").is_file(), app


FACES = {
    "api",
    "admin",
    "apps",
    "migrations",
    "management",
    "templatetags",
    "urls",
    "webhook_views",
    "pay_views",
    "pay_urls",
    "api_links",
    "api_links_urls",
    "admin_dashboard",
    "locale",
    "__init__",
}


def test_every_domain_module_is_covered_by_the_no_face_contract():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"].startswith("Domain code")
    ]
    listed = set(contract["source_modules"])
    domain = set()
    for package in [
        "catalog",
        "inventory",
        "orders",
        "customers",
        "payments",
        "loyalty",
        "unicommerce/events",
        "unicommerce/channels",
        "unicommerce/webhooks",
        "unicommerce/messaging",
    ]:
        for path in (ROOT / package).iterdir():
            is_module = path.suffix == ".py" or (path / "__init__.py").exists()
            if is_module and path.stem not in FACES:
                domain.add(f"{package.replace('/', '.')}.{path.stem}")

    assert domain - listed == set(), "add these modules to the contract in pyproject.toml"
