"""The synthetic district's geography: Bradford's 30 wards, postcodes, streets, schools, practices.

Ward codes, names, area committees, centroids and mid-2020 populations are Bradford's published
figures (ONS). Everything else here is synthetic but shaped like Bradford: the early help cluster of
each ward (a plausible assignment by geography, not the council's own list), a relative
deprivation score (Manningham most deprived, Wharfedale least), the share of families of South
Asian heritage, the postcode districts, localities and postal towns, and made-up streets, schools
and GP practices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    area_committee: str
    lat: float
    lon: float
    population: int
    population_0_15: int
    cluster: str  # synthetic assignment by geography
    deprivation: float  # 0 least deprived .. 1 most deprived (relative, synthetic)
    south_asian: float  # share of families with children of South Asian heritage (synthetic)
    districts: tuple[str, ...]  # postcode districts the ward's postcodes use
    localities: tuple[str, ...]  # address line 2
    town: str  # postal town


# fmt: off
WARDS: tuple[Ward, ...] = (
    Ward("E05001341", "Baildon", "Shipley", 53.8553, -1.7647, 15263, 2648,
         "Airedale & Wharfedale", 0.20, 0.05, ("BD17",), ("Baildon", "Baildon Green", "Tong Park"),
         "Shipley"),
    Ward("E05001342", "Bingley", "Shipley", 53.8665, -1.8222, 18275, 3092,
         "Airedale & Wharfedale", 0.25, 0.05, ("BD16",),
         ("Bingley", "Crossflatts", "Gilstead", "Eldwick"), "Bingley"),
    Ward("E05001343", "Bingley Rural", "Shipley", 53.8216, -1.8821, 18716, 3368,
         "Airedale & Wharfedale", 0.20, 0.04, ("BD16", "BD15", "BD13"),
         ("Cottingley", "Wilsden", "Cullingworth", "Harden", "Denholme"), "Bingley"),
    Ward("E05001344", "Bolton and Undercliffe", "Bradford East", 53.8128, -1.7452, 17122, 4240,
         "East Bradford", 0.60, 0.40, ("BD2",),
         ("Undercliffe", "Bolton", "Bolton Woods", "Swain House"), "Bradford"),
    Ward("E05001345", "Bowling and Barkerend", "Bradford East", 53.788, -1.7341, 22379, 6431,
         "East Bradford", 0.95, 0.55, ("BD3", "BD4"),
         ("Barkerend", "East Bowling", "Bowling", "Laisterdyke"), "Bradford"),
    Ward("E05001346", "Bradford Moor", "Bradford East", 53.7991, -1.7176, 21358, 6624,
         "East Bradford", 0.93, 0.80, ("BD3",),
         ("Bradford Moor", "Thornbury", "Laisterdyke", "Leeds Road"), "Bradford"),
    Ward("E05001347", "City", "Bradford West", 53.7918, -1.7671, 25951, 5648,
         "BD5", 0.92, 0.65, ("BD1", "BD5", "BD7"),
         ("Goitside", "White Abbey", "Listerhills", "Little Germany"), "Bradford"),
    Ward("E05001348", "Clayton and Fairweather Green", "Bradford West", 53.7864, -1.8185, 17412,
         4459, "West Bradford", 0.55, 0.35, ("BD14", "BD8"),
         ("Clayton", "Fairweather Green", "Lower Grange", "Lidget Green"), "Bradford"),
    Ward("E05001349", "Craven", "Keighley", 53.9195, -1.9209, 17014, 2903,
         "Keighley", 0.15, 0.02, ("BD20",), ("Silsden", "Steeton", "Eastburn"), "Keighley"),
    Ward("E05001350", "Eccleshill", "Bradford East", 53.8198, -1.7197, 19602, 5227,
         "East Bradford", 0.70, 0.20, ("BD2", "BD10"),
         ("Eccleshill", "Ravenscliffe", "Fagley", "Greengates"), "Bradford"),
    Ward("E05001351", "Great Horton", "Bradford South", 53.7824, -1.791, 19202, 5327,
         "West Bradford", 0.75, 0.50, ("BD7",),
         ("Great Horton", "Lidget Green", "Horton Bank Top", "Scholemoor"), "Bradford"),
    Ward("E05001352", "Heaton", "Bradford West", 53.8183, -1.7984, 18544, 5205,
         "Lister Park", 0.55, 0.62, ("BD9",),
         ("Heaton", "Frizinghall", "Daisy Hill", "Chellow Dene"), "Bradford"),
    Ward("E05001353", "Idle and Thackley", "Bradford East", 53.8432, -1.7222, 16846, 3101,
         "East Bradford", 0.30, 0.06, ("BD10",),
         ("Idle", "Thackley", "Apperley Bridge", "Thorpe Edge"), "Bradford"),
    Ward("E05001354", "Ilkley", "Keighley", 53.9202, -1.8247, 14757, 2471,
         "Airedale & Wharfedale", 0.05, 0.04, ("LS29",), ("Ilkley", "Ben Rhydding"), "Ilkley"),
    Ward("E05001355", "Keighley Central", "Keighley", 53.8746, -1.9173, 18448, 4894,
         "Keighley", 0.85, 0.60, ("BD21",),
         ("Lawkholme", "Highfield", "Knowle Park", "Showfield"), "Keighley"),
    Ward("E05001356", "Keighley East", "Keighley", 53.8773, -1.8731, 16604, 3511,
         "Keighley", 0.50, 0.15, ("BD20", "BD21"),
         ("Long Lee", "Thwaites Brow", "Riddlesden", "Stockbridge"), "Keighley"),
    Ward("E05001357", "Keighley West", "Keighley", 53.8633, -1.9404, 16813, 3831,
         "Keighley", 0.65, 0.10, ("BD21", "BD22"),
         ("Braithwaite", "Guardhouse", "Bracken Bank", "Ingrow"), "Keighley"),
    Ward("E05001358", "Little Horton", "Bradford East", 53.7778, -1.7582, 23338, 7512,
         "BD5", 0.95, 0.60, ("BD5", "BD7"),
         ("Little Horton", "West Bowling", "Marshfields", "Canterbury"), "Bradford"),
    Ward("E05001359", "Manningham", "Bradford West", 53.8065, -1.7703, 20314, 5563,
         "Lister Park", 1.00, 0.80, ("BD8", "BD1"),
         ("Manningham", "Girlington", "Whetley Hill"), "Bradford"),
    Ward("E05001360", "Queensbury", "Bradford South", 53.7681, -1.8454, 16943, 3512,
         "West Bradford", 0.35, 0.04, ("BD13",),
         ("Queensbury", "Mountain", "Ambler Thorn", "Clayton Heights"), "Bradford"),
    Ward("E05001361", "Royds", "Bradford South", 53.7589, -1.7887, 17706, 4428,
         "South Bradford", 0.70, 0.10, ("BD6",),
         ("Buttershaw", "Woodside", "Delph Hill", "Horton Bank Bottom"), "Bradford"),
    Ward("E05001362", "Shipley", "Shipley", 53.8345, -1.7935, 15644, 2856,
         "Airedale & Wharfedale", 0.40, 0.12, ("BD18",), ("Shipley", "Saltaire", "Moorhead"),
         "Shipley"),
    Ward("E05001363", "Thornton and Allerton", "Bradford West", 53.799, -1.8487, 18277, 4355,
         "West Bradford", 0.40, 0.30, ("BD13", "BD15"),
         ("Thornton", "Allerton", "Sandy Lane", "Chellow Grange"), "Bradford"),
    Ward("E05001364", "Toller", "Bradford West", 53.8057, -1.7923, 20343, 5548,
         "Lister Park", 0.85, 0.82, ("BD9", "BD8"),
         ("Toller", "Girlington", "Four Lane Ends"), "Bradford"),
    Ward("E05001365", "Tong", "Bradford South", 53.7705, -1.6971, 22712, 6282,
         "South Bradford", 0.85, 0.12, ("BD4",),
         ("Holme Wood", "Tong Street", "Bierley", "Tong"), "Bradford"),
    Ward("E05001366", "Wharfedale", "Shipley", 53.9026, -1.7636, 11911, 2331,
         "Airedale & Wharfedale", 0.00, 0.03, ("LS29",), ("Burley in Wharfedale", "Menston"),
         "Ilkley"),
    Ward("E05001367", "Wibsey", "Bradford South", 53.7677, -1.7708, 15007, 3589,
         "South Bradford", 0.55, 0.15, ("BD6", "BD5"), ("Wibsey", "Odsal", "Bankfoot"),
         "Bradford"),
    Ward("E05001368", "Windhill and Wrose", "Shipley", 53.8296, -1.7574, 16294, 3442,
         "East Bradford", 0.55, 0.12, ("BD18", "BD2"), ("Windhill", "Wrose", "Owlet"),
         "Shipley"),
    Ward("E05001369", "Worth Valley", "Keighley", 53.8297, -1.9828, 14153, 2327,
         "Keighley", 0.25, 0.03, ("BD22",), ("Haworth", "Oxenhope", "Oakworth", "Cross Roads"),
         "Keighley"),
    Ward("E05001370", "Wyke", "Bradford South", 53.7463, -1.761, 15180, 3030,
         "South Bradford", 0.45, 0.06, ("BD12",), ("Wyke", "Low Moor", "Oakenshaw"), "Bradford"),
)
# fmt: on

STREET_STEMS = (
    "Oak", "Ash", "Beech", "Elm", "Holly", "Rowan", "Hawthorn", "Willow", "Sycamore", "Laburnum",
    "Moor", "Mill", "Church", "Chapel", "Victoria", "Albert", "Park", "Hill", "Grange", "Valley",
    "Cliffe", "Lister", "Cartwright", "Salt", "Priestley", "Bronte", "Aire", "Wharfe", "Worth",
    "Carlisle", "Whetley", "Cunliffe", "Oakroyd", "Lumb", "Marlborough", "Wilmer", "Emm",
    "Springfield", "Westfield", "Northfield", "Southfield", "Fieldhead", "Green", "Highfield",
    "Ryan", "Parkside", "Thornbury", "Woodhall", "Gaynor", "Prospect", "Hanover", "Brunswick",
    "Crown", "Queen", "King", "Prince", "Duke", "Garden", "Station", "School", "Bank", "Croft",
    "Fern", "Heather", "Bracken", "Lilac", "Primrose", "Daisy", "Clover", "Meadow", "Brook",
    "Beck", "Well", "Spring", "Manor", "Hall", "Cross", "Market", "Canal", "Bridge", "Foundry",
    "Tannery", "Weavers", "Spinners", "Dyers", "Woolcombers", "Jacquard", "Worsted", "Alpaca",
    "Stanley", "Russell", "Gladstone", "Peel", "Wellington", "Nelson", "Trafalgar", "Bolton",
    "Otley", "Leeds", "Halifax", "Keighley", "Skipton", "Thornton", "Allerton", "Horton",
    "Bowling", "Tong", "Wibsey", "Idle", "Baildon", "Bingley", "Heaton", "Frizinghall",
)  # fmt: skip
STREET_SUFFIXES = (
    "Road", "Street", "Lane", "Avenue", "Terrace", "Grove", "Close", "Drive", "Crescent",
    "Place", "Way", "Gardens", "Mount", "View", "Walk", "Court",
)  # fmt: skip
SUFFIX_WEIGHTS = (10, 12, 6, 5, 6, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 2)
ABBREVIATIONS = {
    "Road": "Rd", "Street": "St", "Lane": "Ln", "Avenue": "Ave", "Terrace": "Ter",
    "Grove": "Gr", "Close": "Cl", "Drive": "Dr", "Crescent": "Cres", "Place": "Pl",
    "Gardens": "Gdns", "Mount": "Mt", "Court": "Ct",
}  # fmt: skip
INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
SAINTS = ("Anne", "Joseph", "Mary", "Paul", "Peter", "John", "Matthew", "Luke", "Oswald", "Chad")


def build_postcodes(rng: np.random.Generator, households: int) -> pd.DataFrame:
    """Unit postcodes for the district, each in one ward and on one street.

    Several hundred to a few thousand postcodes (about one for every 18 households, as a unit
    postcode holds about 15-20 addresses), shared out by the wards' child population.
    """
    n_total = int(np.clip(households // 18, 600, 4000))
    pop = np.array([w.population_0_15 for w in WARDS], dtype=float)
    per_ward = np.maximum(10, np.round(n_total * pop / pop.sum()).astype(int))
    seen: set[str] = set()
    rows: list[tuple] = []
    for wi, ward in enumerate(WARDS):
        n = int(per_ward[wi])
        # Each ward has its own few postcode sectors, as real ones do.
        sectors = [(d, int(s)) for d in ward.districts for s in rng.choice(10, 3, replace=False)]
        streets = _ward_streets(rng, ward, max(4, n * 2 // 3))
        sector_pick = rng.integers(0, len(sectors), n)
        street_pick = np.r_[np.arange(len(streets)), rng.integers(0, len(streets), n)][:n]
        locality_pick = rng.integers(0, len(ward.localities), n)
        lat = ward.lat + rng.normal(0, 0.007, n)
        lon = ward.lon + rng.normal(0, 0.011, n)
        first_number = rng.integers(1, 180, n)
        for i in range(n):
            district, sector = sectors[sector_pick[i]]
            while True:
                unit = "".join(rng.choice(INWARD_LETTERS, 2))
                code = f"{district} {sector}{unit}"
                if code not in seen:
                    seen.add(code)
                    break
            stem, suffix = streets[street_pick[i]]
            rows.append(
                (
                    code,
                    wi,
                    round(float(lat[i]), 5),
                    round(float(lon[i]), 5),
                    f"{stem} {suffix}",
                    stem,
                    suffix,
                    ward.localities[locality_pick[i]],
                    ward.town,
                    int(first_number[i]),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "postcode",
            "ward",
            "lat",
            "lon",
            "street",
            "street_stem",
            "street_suffix",
            "locality",
            "town",
            "first_number",
        ],
    )


def _ward_streets(rng: np.random.Generator, ward: Ward, n: int) -> list[tuple[str, str]]:
    """Distinct street names for a ward, some named after its localities."""
    stems = list(STREET_STEMS) + [loc.split()[0] for loc in ward.localities]
    weights = np.array(SUFFIX_WEIGHTS, dtype=float)
    out: list[tuple[str, str]] = []
    used: set[tuple[str, str]] = set()
    while len(out) < n:
        stem = stems[int(rng.integers(0, len(stems)))]
        suffix = STREET_SUFFIXES[int(rng.choice(len(STREET_SUFFIXES), p=weights / weights.sum()))]
        if (stem, suffix) not in used:
            used.add((stem, suffix))
            out.append((stem, suffix))
    return out


@dataclass(frozen=True)
class Institutions:
    """Schools (primary per ward, secondary per cluster) and GP practices (per ward)."""

    schools: pd.DataFrame  # urn, name, ward (primary) or -1, cluster, phase
    practices: pd.DataFrame  # code, name, ward


def build_institutions(rng: np.random.Generator) -> Institutions:
    urns = rng.choice(np.arange(107000, 150000), 400, replace=False)
    schools = []
    k = 0
    for wi, ward in enumerate(WARDS):
        n_primary = 3 if ward.population_0_15 < 4000 else 4 if ward.population_0_15 < 6000 else 5
        for j in range(n_primary):
            loc = ward.localities[j % len(ward.localities)]
            style = (wi + j) % 5
            if style == 3:
                name = f"St {SAINTS[(wi + j) % len(SAINTS)]}'s Catholic Primary School"
            elif style == 4:
                name = f"{loc} Primary Academy"
            elif j >= len(ward.localities):
                name = f"{STREET_STEMS[(wi * 7 + j) % len(STREET_STEMS)]} Primary School"
            else:
                name = f"{loc} Primary School"
            schools.append((int(urns[k]), name, wi, ward.cluster, "Primary"))
            k += 1
    cluster_wards: dict[str, list[int]] = {}
    for wi, ward in enumerate(WARDS):
        cluster_wards.setdefault(ward.cluster, []).append(wi)
    for cluster, wis in cluster_wards.items():
        n_secondary = max(2, len(wis) // 2 + 1)
        for j in range(n_secondary):
            ward = WARDS[wis[j % len(wis)]]
            loc = ward.localities[0]
            kind = ("Academy", "High School", "Grammar School", "Community College")[j % 4]
            if j == 2 and ward.deprivation > 0.5:
                kind = "Girls' Academy"
            name = f"{loc} {kind}"
            schools.append((int(urns[k]), name, -1, cluster, "Secondary"))
            k += 1
    school_frame = pd.DataFrame(schools, columns=["urn", "name", "ward", "cluster", "phase"])

    codes = rng.choice(np.arange(82000, 84000), 120, replace=False)
    practices = []
    k = 0
    for wi, ward in enumerate(WARDS):
        for j in range(2 if ward.population_0_15 < 4000 else 3):
            loc = ward.localities[j % len(ward.localities)]
            kind = ("Medical Practice", "Surgery", "Health Centre")[j]
            practices.append((f"B{int(codes[k]):05d}", f"{loc} {kind}", wi))
            k += 1
    practice_frame = pd.DataFrame(practices, columns=["code", "name", "ward"])
    return Institutions(school_frame, practice_frame)
