"""职责任务清单: the units' responsibility lists as the basis of dispatching (诉求分办的依据)."""

from __future__ import annotations

from tests.workflow.test_engine import new_petition
from workflow.routing import dispatch_targets, responsibility_matches

URBAN_DUTIES = "查处占道经营、露天烧烤等违法行为\n查处违法建设\n城市道路照明设施维护"
HOUSING_DUTIES = "物业服务企业监督管理\n住宅专项维修资金管理"
COMMUNITY_DUTIES = "辖区环境卫生巡查\n邻里纠纷调解"


def test_rule_responsibility_lists_are_the_basis_of_dispatch_matching_units_ranked_by_shared_words(world):
    """Rule: 制定统一的镇街、部门职责任务清单，作为诉求分办和镇街、部门履职的依据 — the dispatcher sees the units whose
    lists name the petition's matter, with the duties that match, best first; the classifier's suggestion breaks ties."""
    s = world.session
    world.urban.responsibilities = URBAN_DUTIES
    world.housing.responsibilities = HOUSING_DUTIES
    world.community.responsibilities = COMMUNITY_DUTIES
    petition = new_petition(world, content="小区楼下烧烤摊占道经营到凌晨两点，油烟和噪音严重扰民，物业不管。")
    matches = responsibility_matches(petition, dispatch_targets(s, petition, by_city=False))
    assert [m.unit for m in matches] == [world.urban, world.housing]
    urban = matches[0]
    assert [(line, set(words)) for line, words in urban.duties] == [("查处占道经营、露天烧烤等违法行为", {"烧烤", "占道经营"})]
    assert matches[1].duties == (("物业服务企业监督管理", ("物业",)),)
    assert urban.suggestion_rank is None, "no suggestion was stored"

    # Equal matches: the classifier's order of department types ranks them.
    tie = new_petition(world, content="烧烤摊的物业纠纷",
                       suggestion={"departments": [{"type": "housing", "score": 0.6},
                                                   {"type": "urban_mgmt", "score": 0.3}], "terms": ["物业"]})
    ranked = responsibility_matches(tie, [world.urban, world.housing])
    assert [(m.unit, m.suggestion_rank) for m in ranked] == [(world.housing, 0), (world.urban, 1)]


def test_units_without_a_list_or_without_a_matching_duty_are_not_shown(world):
    world.urban.responsibilities = URBAN_DUTIES
    petition = new_petition(world, content="孩子入学需要办理哪些手续？")
    assert responsibility_matches(petition, [world.urban, world.housing, world.community]) == []
