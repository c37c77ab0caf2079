import factory
from factory.django import DjangoModelFactory

from cases.models import Case, CaseStatus
from tests.patients.factories import PatientFactory


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    patient = factory.SubFactory(PatientFactory)
    payment = factory.SubFactory(
        "tests.payments.factories.PaymentFactory",
        intake_response__patient=factory.SelfAttribute("...patient"),
    )
    mdi_case_id = factory.Sequence(lambda n: f"mdi-case-{n}")

    class Params:  # the constructor may set a protected state; later code may not
        approved = factory.Trait(status=CaseStatus.APPROVED)
        under_review = factory.Trait(status=CaseStatus.UNDER_REVIEW)
