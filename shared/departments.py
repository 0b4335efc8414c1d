"""The names people know the UK government's departments by, from the short codes a department
would choose for itself (`dwp`, `hmrc`, `cabinet-office`...). Pure: no I/O, no configuration."""

from __future__ import annotations

_NAMES: dict[tuple[str, ...], str] = {
    # Ministerial departments
    ("ago", "attorney-general"): "Attorney General's Office",
    ("co", "cabinet-office"): "Cabinet Office",
    ("dbt", "business-and-trade"): "Department for Business and Trade",
    ("dcms", "culture-media-sport"): "Department for Culture, Media and Sport",
    ("dfe", "education"): "Department for Education",
    ("defra",): "Department for Environment, Food and Rural Affairs",
    ("desnz", "energy-security-net-zero"): "Department for Energy Security and Net Zero",
    ("dsit", "science-innovation-technology"): "Department for Science, Innovation and Technology",
    ("dft", "transport"): "Department for Transport",
    ("dwp", "work-and-pensions"): "Department for Work and Pensions",
    ("dhsc", "health-and-social-care"): "Department of Health and Social Care",
    ("fcdo", "foreign-office"): "Foreign, Commonwealth and Development Office",
    ("hmt", "treasury", "hm-treasury"): "HM Treasury",
    ("ho", "home-office"): "Home Office",
    ("mod", "defence"): "Ministry of Defence",
    ("mhclg", "housing-communities"): "Ministry of Housing, Communities and Local Government",
    ("moj", "justice"): "Ministry of Justice",
    ("nio", "northern-ireland-office"): "Northern Ireland Office",
    ("oag", "office-of-the-advocate-general"): "Office of the Advocate General for Scotland",
    ("so", "scotland-office"): "Office of the Secretary of State for Scotland",
    ("wo", "wales-office"): "Office of the Secretary of State for Wales",
    ("lhoc", "leader-commons"): "Office of the Leader of the House of Commons",
    ("lhol", "leader-lords"): "Office of the Leader of the House of Lords",
    ("ukef", "uk-export-finance"): "UK Export Finance",
    # Non-ministerial departments
    ("hmrc",): "HM Revenue and Customs",
    ("hmlr", "land-registry"): "HM Land Registry",
    ("ons", "statistics"): "Office for National Statistics",
    ("fsa", "food-standards"): "Food Standards Agency",
    ("cma", "competition-markets"): "Competition and Markets Authority",
    ("ofsted",): "Ofsted",
    ("ofgem",): "Ofgem",
    ("ofwat",): "Ofwat",
    ("ofqual",): "Ofqual",
    ("orr", "rail-road"): "Office of Rail and Road",
    ("gad", "actuary"): "Government Actuary's Department",
    ("gld", "government-legal"): "Government Legal Department",
    ("cps", "crown-prosecution"): "Crown Prosecution Service",
    ("sfo", "serious-fraud"): "Serious Fraud Office",
    ("nsi", "ns-and-i"): "National Savings and Investments",
    ("tna", "national-archives"): "The National Archives",
    ("ukhsa",): "UK Health Security Agency",
    ("fc", "forestry"): "Forestry Commission",
    ("csc", "charity-commission"): "Charity Commission",
    # Executive agencies people often name as their department
    ("dvla",): "Driver and Vehicle Licensing Agency",
    ("dvsa",): "Driver and Vehicle Standards Agency",
    ("hmcts", "courts-and-tribunals"): "HM Courts and Tribunals Service",
    ("hmpps", "prisons-and-probation"): "HM Prison and Probation Service",
    ("ukvi", "visas-and-immigration"): "UK Visas and Immigration",
    ("ch", "companies-house"): "Companies House",
    ("ipo", "intellectual-property"): "Intellectual Property Office",
    ("mhra",): "Medicines and Healthcare products Regulatory Agency",
    ("apha",): "Animal and Plant Health Agency",
    ("rpa", "rural-payments"): "Rural Payments Agency",
    ("ea", "environment-agency"): "Environment Agency",
    ("gds", "government-digital-service"): "Government Digital Service",
    ("opg", "public-guardian"): "Office of the Public Guardian",
    ("laa", "legal-aid"): "Legal Aid Agency",
    ("insolvency", "insolvency-service"): "The Insolvency Service",
    ("met-office", "metoffice"): "Met Office",
    ("nhsbsa",): "NHS Business Services Authority",
    ("slc", "student-loans"): "Student Loans Company",
}

DEPARTMENT_NAMES: dict[str, str] = {code: name for codes, name in _NAMES.items() for code in codes}
# Names said without "the": "adopted by HM Treasury", "by Ofsted", but "by the Home Office".
_NO_ARTICLE = ("HM ", "The ", "Ofsted", "Ofgem", "Ofwat", "Ofqual", "Companies House", "UK Export Finance")


def department_name(code: str) -> str:
    """'Department for Work and Pensions' for 'dwp'; for a code it does not know, the code in capitals
    with hyphens as spaces ('nhs-digital' -> 'NHS DIGITAL'), which reads as an acronym would."""
    key = code.strip().lower()
    return DEPARTMENT_NAMES.get(key) or key.replace("-", " ").replace("_", " ").upper()


def department_in_a_sentence(code: str) -> str:
    """The department's name as a sentence says it: 'the Department for Education', 'the Home Office',
    but 'HM Revenue and Customs', 'Ofsted', and an unknown code's capitals ('NHSE') as they are."""
    name = department_name(code)
    known = code.strip().lower() in DEPARTMENT_NAMES
    return name if not known or name.startswith(_NO_ARTICLE) else f"the {name}"
