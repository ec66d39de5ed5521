"""One Swedish collation (app/i18n.sort_key) for tables, services and documents."""

from __future__ import annotations

from app.i18n import sort_key

NAMES = ["Öberg", "Zetterlund", "Åberg", "Ärlig", "Lundqvist", "Łukasz", "Eriksson", "Élise", "Ülker", "Ytterberg",
         "ahl", "Andersson", "Zäta"]
SWEDISH = ["ahl", "Andersson", "Élise", "Eriksson", "Łukasz", "Lundqvist", "Ülker", "Ytterberg", "Zetterlund", "Zäta",
           "Åberg", "Ärlig", "Öberg"]


def test_swedish_order_aao_after_z_and_foreign_letters_with_their_base():
    assert sorted(NAMES, key=sort_key) == SWEDISH


def test_services_and_table_models_sort_alike(db):
    from app.services.companies import CompanyData, create_company, list_companies
    from ui.table_models import sort_key as table_key

    for i, name in enumerate(["Örebro Plåt AB", "Zinkgruvan AB", "Åtvidaberg Metall AB", "Ängelholm AB", "Élite AB"]):
        create_company(db, CompanyData(name, ("556036-0793", "556677-8899", "556016-0680", "556000-4615", "556012-5790")[i]))
    listed = [c.name for c in list_companies(db)]
    assert listed == ["Élite AB", "Zinkgruvan AB", "Åtvidaberg Metall AB", "Ängelholm AB", "Örebro Plåt AB"]
    assert sorted(listed, key=table_key) == listed

