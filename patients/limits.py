"""MD Integrations' documented field limits for creating or updating a patient.

Identity data is sent to MDI as entered, and MDI refuses (or a sender would have to cut)
anything longer. Cutting corrupts names and shipping addresses, so we refuse at entry instead:
the identity form, the sign-up email and the "ready to send" check all read these numbers.
Plain constants with no imports, so accounts can use them without depending on patients' models.
"""

MDI_NAME_MAX = 35  # first_name, last_name
MDI_ADDRESS_LINE_MAX = 35  # address.address (line 1) and address.address2 (line 2)
MDI_CITY_MAX = 35  # address.city_name
MDI_EMAIL_MAX = 80  # email
