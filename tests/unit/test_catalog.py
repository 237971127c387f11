"""Catalog service: topics, search (both languages, case-folding, LeiKa key), grouping, visibility."""

from services import catalog
from tests.factories import DepartmentFactory, ServiceFactory


def _titles(services, locale="de"):
    return [s.title(locale) for s in services]


def test_topic_registry_has_labels_in_both_languages():
    for key in ("mobilitaet", "tiere", "wirtschaft", "oeffentlicher_raum", "meldewesen"):
        topic = catalog.TOPICS[key]
        assert topic.label("de") and topic.label("en") and topic.label("de") != topic.label("en")
    assert catalog.TOPICS["tiere"].label("en") == "Animals"


def test_topic_for_unknown_key_falls_back_to_general(db):
    service = ServiceFactory(topic="gibt-es-nicht")
    assert catalog.topic_for(service).key == catalog.FALLBACK_TOPIC


def test_search_empty_query_lists_active_services_sorted_by_locale_title(db):
    ServiceFactory(title_de="Zulassung", title_en="Admission")
    ServiceFactory(title_de="Anmeldung", title_en="Zoo permit")
    assert _titles(catalog.search_services("", "de")) == ["Anmeldung", "Zulassung"]
    assert _titles(catalog.search_services("", "en"), "en") == ["Admission", "Zoo permit"]


def test_search_folds_case_beyond_ascii(db):
    """SQLite's LIKE would miss Ö/ö and ß/SS; the catalog search must not."""
    ServiceFactory(slug="sonder", title_de="Sondernutzung öffentlicher Straßen")
    ServiceFactory(slug="andere", title_de="Hundesteuer")
    assert [s.slug for s in catalog.search_services("ÖFFENTLICHER")] == ["sonder"]
    assert [s.slug for s in catalog.search_services("strasse")] == ["sonder"]


def test_search_matches_english_texts_and_descriptions(db):
    ServiceFactory(slug="hund", title_de="Hundesteuer", title_en="Dog tax", description_de="Für jeden Hund.")
    ServiceFactory(slug="park", title_de="Parkausweis", description_en="Park without a ticket.")
    assert [s.slug for s in catalog.search_services("dog")] == ["hund"]
    assert [s.slug for s in catalog.search_services("TICKET")] == ["park"]
    assert [s.slug for s in catalog.search_services("jeden hund")] == ["hund"]


def test_search_by_leika_key(db):
    ServiceFactory(slug="gewerbe", leika_key="99050012104000")
    ServiceFactory(slug="sonst", leika_key=None)
    assert [s.slug for s in catalog.search_services("99050012104000")] == ["gewerbe"]
    assert [s.slug for s in catalog.search_services("9905001")] == ["gewerbe"]


def test_search_requires_every_word(db):
    ServiceFactory(title_de="Hundesteuer anmelden")
    assert len(catalog.search_services("hund anmelden")) == 1
    assert catalog.search_services("hund gewerbe") == []


def test_inactive_services_and_departments_are_not_public(db):
    closed = DepartmentFactory(active=False)
    ServiceFactory(slug="aktiv")
    ServiceFactory(slug="inaktiv", active=False)
    ServiceFactory(slug="amt-zu", department=closed)
    assert [s.slug for s in catalog.search_services("")] == ["aktiv"]
    assert catalog.find_active_service("aktiv").slug == "aktiv"
    assert catalog.find_active_service("inaktiv") is None
    assert catalog.find_active_service("amt-zu") is None
    assert catalog.find_active_service("gibt-es-nicht") is None


def test_group_by_topic_follows_registry_order(db):
    ServiceFactory(topic="tiere")
    ServiceFactory(topic="meldewesen")
    ServiceFactory(topic="unbekannt")
    groups = catalog.group_services(catalog.search_services(""), "thema", "de")
    assert [g.key for g in groups] == ["meldewesen", "tiere", "allgemein"]
    assert groups[0].label == "Meldewesen und Ausweise"


def test_group_by_department_sorted_by_name_in_locale(db):
    a = DepartmentFactory(slug="a", name_de="Steueramt", name_en="Municipal Tax Office")
    b = DepartmentFactory(slug="b", name_de="Bürgeramt", name_en="Citizens' Office")
    ServiceFactory(department=a)
    ServiceFactory(department=a)
    ServiceFactory(department=b)
    de = catalog.group_services(catalog.search_services(""), "behoerde", "de")
    assert [(g.label, len(g.services)) for g in de] == [("Bürgeramt", 1), ("Steueramt", 2)]
    en = catalog.group_services(catalog.search_services(""), "behoerde", "en")
    assert [g.label for g in en] == ["Citizens' Office", "Municipal Tax Office"]


def test_normalise_query_trims_collapses_and_caps():
    assert catalog.normalise_query("  Hund \t  Steuer \n") == "Hund Steuer"
    assert catalog.normalise_query(None) == ""
    assert len(catalog.normalise_query("x" * 5000)) == catalog.MAX_QUERY_LENGTH
