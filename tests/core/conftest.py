from tests.cases.conftest import completed, completed_unpaid  # noqa: F401 - shared fixtures
