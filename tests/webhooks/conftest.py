import pytest

from tests.cases.factories import CaseFactory


@pytest.fixture
def case(db):
    return CaseFactory()
