from qingsu import create_app


def test_healthz_answers_200_when_the_database_is_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SECURITY": {"data_key": "k"},
            "DATABASE": {"url": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"},
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_factory_refuses_to_start_without_a_secret_key():
    import pytest

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECURITY": {"data_key": "k"}})


def test_the_bare_address_leads_to_the_admin_site(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/admin/")
