import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from patients.models import Patient
from tests.accounts.factories import UserFactory


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory)

    class Params:
        eligible = factory.Trait(
            state_of_residence="CA",
            date_of_birth=datetime.date(1988, 4, 12),
            eligibility_confirmed_at=factory.LazyFunction(timezone.now),
        )
        identified = factory.Trait(
            eligible=True,
            legal_first_name="Dana",
            legal_last_name="Reyes",
            sex_at_birth="female",
            phone="4155550123",
            shipping_address={
                "line1": "1 Main St",
                "line2": "",
                "city": "Oakland",
                "state": "CA",
                "zip": "94601",
            },
            identity_completed_at=factory.LazyFunction(timezone.now),
        )
