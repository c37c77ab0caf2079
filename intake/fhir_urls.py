"""The FHIR and SDC extension URLs the engine reads and writes, declared once."""

FHIR_EXT = "http://hl7.org/fhir/StructureDefinition/"
SDC_EXT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
THINCLINIC_EXT = "https://thinclinic.dev/fhir/StructureDefinition/"

# Rendering and constraints (intake.fhir, intake.fhir_kinds).
EXT_MIN, EXT_MAX = FHIR_EXT + "minValue", FHIR_EXT + "maxValue"
EXT_MIME, EXT_MAX_SIZE = FHIR_EXT + "mimeType", FHIR_EXT + "maxSize"
EXT_ITEM_CONTROL = FHIR_EXT + "questionnaire-itemControl"
EXT_ENTRY_FORMAT = FHIR_EXT + "entryFormat"
EXT_HIDDEN = FHIR_EXT + "questionnaire-hidden"
EXT_UNIT = FHIR_EXT + "questionnaire-unit"
EXT_UNIT_OPTION = FHIR_EXT + "questionnaire-unitOption"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
UCUM = "http://unitsofmeasure.org"

# Scores and expressions (intake.expressions, intake.scoring_fhir).
EXT_OPTION_EXCLUSIVE = FHIR_EXT + "questionnaire-optionExclusive"
EXT_ORDINAL = FHIR_EXT + "ordinalValue"
EXT_WEIGHT = FHIR_EXT + "itemWeight"
EXT_VARIABLE = FHIR_EXT + "variable"
EXT_CALCULATED = SDC_EXT + "sdc-questionnaire-calculatedExpression"
EXT_ENABLE_WHEN_EXPRESSION = SDC_EXT + "sdc-questionnaire-enableWhenExpression"
FHIRPATH = "text/fhirpath"

# Our own.
EXT_IMPORTANT = THINCLINIC_EXT + "important-for-clinician"
EXT_DISQUALIFYING = THINCLINIC_EXT + "disqualifying-answer"
EXT_DISQUALIFYING_TEXT = THINCLINIC_EXT + "disqualifying-explanation"
EXT_MINIMUM_AGE = THINCLINIC_EXT + "minimum-age"
EXT_SCORE_BAND = THINCLINIC_EXT + "score-band"
