"""The names people know departments by, from their short codes."""

import pytest

from shared.departments import DEPARTMENT_NAMES, department_in_a_sentence, department_name
from shared.events.topics import DEPARTMENT_RE


@pytest.mark.parametrize(("code", "name"), [
    ("dwp", "Department for Work and Pensions"),
    ("hmrc", "HM Revenue and Customs"),
    ("co", "Cabinet Office"), ("cabinet-office", "Cabinet Office"),
    ("dfe", "Department for Education"),
    ("dhsc", "Department of Health and Social Care"),
    ("ho", "Home Office"), ("home-office", "Home Office"),
    ("moj", "Ministry of Justice"),
    ("mod", "Ministry of Defence"),
    ("dft", "Department for Transport"),
    ("defra", "Department for Environment, Food and Rural Affairs"),
    ("dbt", "Department for Business and Trade"),
    ("desnz", "Department for Energy Security and Net Zero"),
    ("dsit", "Department for Science, Innovation and Technology"),
    ("dcms", "Department for Culture, Media and Sport"),
    ("fcdo", "Foreign, Commonwealth and Development Office"),
    ("hmt", "HM Treasury"),
    ("mhclg", "Ministry of Housing, Communities and Local Government"),
    ("dvla", "Driver and Vehicle Licensing Agency"),
    ("ons", "Office for National Statistics"),
    ("hmcts", "HM Courts and Tribunals Service"),
])
def test_the_codes_a_department_would_choose_give_the_name_people_know(code, name):
    assert department_name(code) == name


def test_a_code_is_read_whatever_its_case_and_surrounding_spaces():
    assert department_name(" DWP ") == "Department for Work and Pensions"
    assert department_name("Home-Office") == "Home Office"


@pytest.mark.parametrize(("code", "shown"), [("nhse", "NHSE"), ("nhs-digital", "NHS DIGITAL"), ("xy", "XY")])
def test_an_unknown_code_reads_as_an_acronym_in_capitals(code, shown):
    assert department_name(code) == shown


def test_every_known_code_is_a_valid_department_code_and_every_name_is_tidy():
    assert all(DEPARTMENT_RE.fullmatch(code) for code in DEPARTMENT_NAMES)
    assert all(name and name == name.strip() and "  " not in name for name in DEPARTMENT_NAMES.values())


@pytest.mark.parametrize(("code", "said"), [
    ("dfe", "the Department for Education"), ("ho", "the Home Office"), ("co", "the Cabinet Office"),
    ("hmrc", "HM Revenue and Customs"), ("hmt", "HM Treasury"), ("ofsted", "Ofsted"),
    ("tna", "The National Archives"), ("nhse", "NHSE"),
])
def test_a_department_in_a_sentence_takes_the_article_its_name_takes(code, said):
    assert department_in_a_sentence(code) == said
