from tests.cases.conftest import completed  # noqa: F401 - shared fixtures
