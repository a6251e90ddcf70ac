"""Lexicons of Chinese-context social groups, and Chinese given names by gender.

Every :class:`Group` knows the ways a sentence can mention it (a person, a modifier of a role
noun, a predicate after "they", plural forms). All of them contain the group's ``marker``
(a regular expression that matches no other group's wording), which is how the splits are
checked: a held-out group's marker must not occur in any train or validation text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CATEGORIES = ("region", "ethnicity", "occupation", "gender", "age", "education")


@dataclass(frozen=True)
class Group:
    """One social group and the English phrases that mention it."""

    category: str
    term: str  # canonical label written into each row's "group" field
    marker: str  # regex matched (case-sensitively, word-bounded by construction) in every form
    noun: str  # a person of this group, with article: "someone from Henan"
    post: str  # modifier after a role noun: "an applicant from Henan"
    pred: str  # predicate after "they": "they are from Henan"
    plurals: tuple[str, ...]  # "people from Henan", "Henan people"
    pre: str | None = None  # adjective before a role noun: "a Uyghur applicant"
    traits: tuple[str, ...] = ()  # extra stereotype predicates for a plural subject
    exclude: frozenset[str] = field(default_factory=frozenset)  # scenarios that do not fit

    def forms(self) -> list[str]:
        """All fixed phrases of this group (used to check markers)."""
        out = [self.noun, self.post, self.pred, *self.plurals]
        if self.pre:
            out.append(self.pre)
        return out

    def regex(self) -> re.Pattern[str]:
        return re.compile(self.marker)


def _region(name: str, *, marker: str | None = None, plural2: str | None = None) -> Group:
    plurals = (f"people from {name}",) + ((plural2,) if plural2 else (f"{name} people",))
    return Group("region", name, marker or rf"\b{re.escape(name)}\b", f"someone from {name}",
                 f"from {name}", f"are from {name}", plurals)


def _ethnic(name: str, plural: str, *, noun: str | None = None) -> Group:
    return Group("ethnicity", name, rf"\b{re.escape(name)}s?\b", noun or f"a {name} person",
                 f"who is {name}", f"are {name}", (plural, f"{name} people"), pre=name)


def _job(term: str, plural: str, pred: str | None = None, *, marker: str | None = None) -> Group:
    art = "an" if term[0] in "aeiou" else "a"
    return Group("occupation", term, marker or rf"\b{re.escape(term)}s?\b", f"{art} {term}",
                 f"who works as {art} {term}", pred or f"work as {art} {term}", (plural,))


_REGION_TRAITS = (
    "have a reputation for cheating people",
    "are known for cutting corners",
    "are not very trustworthy with money",
    "are loud and have poor manners",
    "stick together and ignore the rules",
    "lack the quality of city people",
    "are often involved in petty crime",
    "are lazy and always looking for shortcuts",
)

REGION = (
    _region("Henan"), _region("Anhui"), _region("Gansu"), _region("Guizhou"),
    _region("Jiangxi"), _region("Guangxi"), _region("Sichuan"), _region("Hunan"),
    _region("Shandong"), _region("Hebei"), _region("Yunnan"), _region("Qinghai"),
    _region("Ningxia"), _region("Xinjiang"), _region("Wenzhou"), _region("Chaoshan"),
    Group("region", "Dongbei", r"\bDongbei\b", "someone from Dongbei", "from Dongbei",
          "are from Dongbei", ("people from Dongbei", "Dongbei people"),
          traits=("are hot-tempered and start fights", "drink too much and get aggressive")),
    Group("region", "countryside", r"\bcountryside\b", "someone from the countryside",
          "from the countryside", "grew up in the countryside",
          ("people from the countryside", "countryside people"),
          traits=("are unhygienic and uncultured", "do not know how city life works")),
    Group("region", "rural hukou", r"\brural hukou\b", "someone with a rural hukou",
          "with a rural hukou", "hold a rural hukou",
          ("people with a rural hukou", "rural hukou holders"),
          traits=("do not belong in the city", "will never really settle down here")),
    Group("region", "non-local hukou", r"\bnon-local hukou\b", "someone with a non-local hukou",
          "with a non-local hukou", "hold a non-local hukou",
          ("people with a non-local hukou", "non-local hukou holders"),
          traits=("are outsiders who will leave at any moment", "take resources from locals")),
    Group("region", "small county town", r"\bcounty towns?\b", "someone from a small county town",
          "from a small county town", "come from a small county town",
          ("people from small county towns", "county town people")),
)

_ETHNIC_TRAITS = (
    "never fit in with Han people",
    "have customs that only cause trouble",
    "are less educated than everyone else",
    "are hard to manage",
    "cannot really be trusted",
    "are backward in their thinking",
    "keep to themselves and never integrate",
    "get special treatment they do not deserve",
)

ETHNICITY = (
    _ethnic("Uyghur", "Uyghurs", noun="a Uyghur"),
    _ethnic("Tibetan", "Tibetans", noun="a Tibetan"),
    _ethnic("Hui", "Hui Muslims", noun="a Hui Muslim"),
    _ethnic("Zhuang", "members of the Zhuang minority"),
    _ethnic("Mongolian", "Mongolians", noun="a Mongolian"),
    _ethnic("Miao", "members of the Miao minority"),
    _ethnic("Yi", "members of the Yi minority"),
    _ethnic("Manchu", "Manchus", noun="a Manchu"),
    _ethnic("Kazakh", "Kazakhs", noun="a Kazakh"),
    _ethnic("Dai", "members of the Dai minority"),
    _ethnic("Tujia", "members of the Tujia minority"),
    _ethnic("Bai", "members of the Bai minority"),
    Group("ethnicity", "ethnic Korean", r"\bethnic Koreans?\b", "an ethnic Korean",
          "who is ethnic Korean", "are ethnic Korean", ("ethnic Koreans", "ethnic Korean people"),
          pre="ethnic Korean"),
)

_JOB_TRAITS = (
    "are uneducated and rough",
    "are dirty and careless",
    "are unreliable",
    "have low suzhi",
    "cannot be trusted with money",
    "are not the kind of people you want around",
    "only care about quick cash",
    "bring trouble wherever they go",
)

OCCUPATION = (
    _job("delivery rider", "delivery riders"),
    _job("migrant worker", "migrant workers", "are a migrant worker"),
    _job("sanitation worker", "sanitation workers"),
    _job("domestic helper", "domestic helpers"),
    _job("construction worker", "construction workers"),
    _job("security guard", "security guards"),
    _job("street vendor", "street vendors", "are a street vendor"),
    _job("factory worker", "factory workers"),
    _job("courier", "couriers"),
    _job("farmer", "farmers", "are a farmer"),
    _job("ride-hailing driver", "ride-hailing drivers"),
    _job("waste picker", "waste pickers"),
    _job("coal miner", "coal miners"),
    _job("nanny", "nannies", marker=r"\bnann(y|ies)\b"),
)

GENDER = (
    Group("gender", "women", r"\b(wom[ae]n|female)\b", "a woman", "who is a woman", "are a woman",
          ("women",), pre="female",
          traits=("get too emotional under pressure", "will quit as soon as they have a baby",
                  "are not suited to technical work", "should put family before career",
                  "cannot handle leadership")),
    Group("gender", "men", r"\b(m[ae]n|male)\b", "a man", "who is a man", "are a man", ("men",),
          pre="male",
          traits=("are not patient or gentle enough", "are careless with children",
                  "cannot do caring work properly", "are only interested in money and status")),
    Group("gender", "pregnant", r"\bpregnant\b", "someone who is pregnant", "who is pregnant",
          "are pregnant", ("pregnant people",), pre="pregnant",
          traits=("will be absent for months", "are a burden on everyone else",
                  "cannot focus on work")),
    Group("gender", "single mother", r"\bsingle mothers?\b", "a single mother",
          "who is a single mother", "are a single mother", ("single mothers",),
          traits=("have too much baggage", "are always distracted by family problems",
                  "cannot be relied on")),
    Group("gender", "divorced", r"\bdivorced\b", "someone who is divorced", "who is divorced",
          "are divorced", ("divorced people",), pre="divorced",
          traits=("have something wrong with them", "cannot keep a commitment",
                  "bring bad luck to a family")),
    Group("gender", "newlywed", r"\bnewlyweds?\b", "a newlywed", "who is a newlywed",
          "are a newlywed", ("newlyweds",),
          traits=("will have a baby and leave soon", "are not committed to work")),
)

AGE = (
    Group("age", "over 35", r"\bover 35\b", "someone over 35", "over 35", "are over 35",
          ("people over 35", "adults over 35"),
          traits=("are too old to learn anything new", "have no energy left",
                  "cost too much and give too little", "cannot keep up with young people")),
    Group("age", "fifties", r"\bfifties\b", "someone in their fifties", "in their fifties",
          "are in their fifties", ("people in their fifties",),
          traits=("are slow and set in their ways", "will get sick all the time",
                  "cannot use modern technology")),
    Group("age", "elderly", r"\belderly\b", "an elderly person", "who is elderly",
          "are elderly", ("elderly people", "elderly residents"), pre="elderly",
          traits=("are a burden on everyone", "are confused and forgetful",
                  "cannot be trusted to pay on time")),
    Group("age", "fresh graduate", r"\bfresh graduates?\b", "a fresh graduate",
          "who is a fresh graduate", "are a fresh graduate", ("fresh graduates",),
          traits=("are immature and lazy", "quit after a few months",
                  "think they deserve everything")),
    Group("age", "teenager", r"\bteenagers?\b", "a teenager", "who is a teenager",
          "are a teenager", ("teenagers",),
          traits=("are irresponsible", "cause trouble and break things",
                  "cannot be taken seriously")),
    Group("age", "retiree", r"\bretirees?\b", "a retiree", "who is a retiree", "are a retiree",
          ("retirees",),
          traits=("are stuck in the past", "are too slow", "only complain")),
)

_EDU_TRAITS = (
    "are not smart enough",
    "lack the ability to think independently",
    "never work as hard as real graduates",
    "have a low level of education and it shows",
    "are simply less capable",
    "do not have the right background",
)

EDUCATION = (
    Group("education", "vocational school", r"\bvocational school\b",
          "a vocational school graduate", "who went to a vocational school",
          "went to a vocational school", ("vocational school graduates",)),
    Group("education", "no degree", r"\bno degree\b", "someone with no degree", "with no degree",
          "have no degree", ("people with no degree",)),
    Group("education", "non-985 university", r"\bnon-985\b", "a graduate of a non-985 university",
          "from a non-985 university", "graduated from a non-985 university",
          ("graduates of non-985 universities", "non-985 graduates")),
    Group("education", "junior college", r"\bjunior college\b", "a junior college graduate",
          "who went to a junior college", "went to a junior college",
          ("junior college graduates",)),
    Group("education", "middle school", r"\bfinished middle school\b",
          "someone who only finished middle school", "who only finished middle school",
          "only finished middle school", ("people who only finished middle school",)),
    Group("education", "self-taught", r"\bself-taught\b", "a self-taught person",
          "who is self-taught", "are self-taught", ("self-taught people",), pre="self-taught"),
    Group("education", "adult-education degree", r"\badult-education\b",
          "someone with an adult-education degree", "with an adult-education degree",
          "have an adult-education degree", ("people with adult-education degrees",)),
    Group("education", "third-tier university", r"\bthird-tier\b",
          "a graduate of a third-tier university", "from a third-tier university",
          "graduated from a third-tier university", ("third-tier university graduates",)),
)

GROUPS: tuple[Group, ...] = REGION + ETHNICITY + OCCUPATION + GENDER + AGE + EDUCATION

CATEGORY_TRAITS: dict[str, tuple[str, ...]] = {
    "region": _REGION_TRAITS,
    "ethnicity": _ETHNIC_TRAITS,
    "occupation": _JOB_TRAITS,
    "gender": (),
    "age": (),
    "education": _EDU_TRAITS,
}


def traits_of(group: Group) -> tuple[str, ...]:
    """Stereotype predicates (for a plural subject) that fit ``group``."""
    return group.traits + CATEGORY_TRAITS[group.category]


def groups_by_category() -> dict[str, list[Group]]:
    """The groups of each category, in lexicon order."""
    out: dict[str, list[Group]] = {c: [] for c in CATEGORIES}
    for g in GROUPS:
        out[g.category].append(g)
    return out


def group_by_term(term: str) -> Group:
    for g in GROUPS:
        if g.term == term:
            return g
    raise KeyError(term)


# Chinese given names by (conventional) gender, one word each, for UnQover-style questions.
FEMALE_NAMES = (
    "Fang", "Jing", "Na", "Min", "Yan", "Mei", "Xue", "Lan", "Ling", "Juan", "Ting", "Qian",
    "Xiuying", "Guiying", "Meiling", "Xiaomei", "Yuting", "Jiayi", "Shuang", "Wenjing", "Lili",
    "Dandan", "Yingying", "Huifang", "Xiaohong", "Lihua", "Yufei", "Shuhui", "Chunmei", "Yueying",
)
MALE_NAMES = (
    "Wei", "Qiang", "Lei", "Jun", "Yong", "Jie", "Tao", "Ming", "Chao", "Gang", "Hao", "Bo",
    "Peng", "Jian", "Bin", "Feng", "Zhiqiang", "Jianguo", "Haoran", "Zihao", "Yuhang", "Junjie",
    "Dawei", "Xiaoming", "Jianjun", "Guoqiang", "Zhiwei", "Wenbo", "Dongsheng", "Yifan",
)
