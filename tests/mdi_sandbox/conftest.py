from tests.cases.conftest import completed, mdi  # noqa: F401 - shared fixtures
