"""Names for the synthetic district, and the ways systems get them wrong.

Pools reflect Bradford: families of Pakistani, Bangladeshi and Indian (Muslim, Sikh, Hindu)
heritage, White British families, Eastern European (Polish, Slovak and Czech Roma, Romanian)
families and Black African and Caribbean families. Every name is encodable in cp1252 so the police
extract (a cp1252 file) can carry accents and curly apostrophes as real ones do.

The variant tables (nicknames, transliterations) are public so the tests can check that a recorded
variant really is one.
"""

from __future__ import annotations

import unicodedata

import numpy as np

# Pools are ordered most common first; weights fall off with rank (Zipf-like).
MUSLIM_MALE = (
    "Mohammed", "Muhammad", "Ali", "Ibrahim", "Hamza", "Yusuf", "Adam", "Zain", "Ayaan", "Umar",
    "Usman", "Hassan", "Bilal", "Imran", "Mohammad", "Abdullah", "Haris", "Ismail", "Musa",
    "Zakariya", "Rehan", "Faisal", "Tariq", "Khalid", "Shahid", "Zahid", "Nadeem", "Waseem",
    "Asif", "Adil", "Amir", "Arslan", "Sajid", "Naveed", "Irfan", "Kamran", "Saqib", "Rizwan",
    "Javed", "Akram", "Aftab", "Shabir", "Abdul", "Idris", "Danyal", "Mohamed", "Ahmed",
    "Ahmad", "Raheel", "Zubair",
)  # fmt: skip
MUSLIM_FEMALE = (
    "Ayesha", "Maryam", "Fatima", "Zainab", "Aisha", "Hafsa", "Khadija", "Inaya", "Hania",
    "Anaya", "Eshal", "Iqra", "Aleena", "Zara", "Amina", "Safa", "Nasreen", "Shazia", "Samina",
    "Rubina", "Yasmin", "Nadia", "Sana", "Hira", "Mehwish", "Saima", "Shabana", "Tahira", "Safia",
    "Humaira", "Rukhsana", "Parveen", "Nazia", "Sobia", "Asma", "Bushra", "Rabia", "Sadia",
    "Alisha", "Nasrin",
)  # fmt: skip
PAKISTANI_SURNAMES = (
    "Khan", "Hussain", "Ahmed", "Ali", "Akhtar", "Iqbal", "Mahmood", "Shah", "Rehman", "Rashid",
    "Mirza", "Butt", "Choudhry", "Malik", "Raja", "Qureshi", "Sheikh", "Aslam", "Bashir",
    "Hanif", "Nawaz", "Riaz", "Sadiq", "Yousaf", "Zaman", "Anwar", "Ashraf", "Mohammed",
    "Hussein", "Javed", "Saleem", "Arshad", "Latif", "Azam",
)  # fmt: skip
BANGLADESHI_SURNAMES = (
    "Miah", "Uddin", "Rahman", "Ahmed", "Ali", "Islam", "Chowdhury", "Hoque", "Alam", "Hussain",
)  # fmt: skip
INDIAN_MUSLIM_SURNAMES = ("Patel", "Mulla", "Desai", "Bhana", "Loonat", "Vali", "Ahmed")
SIKH_MALE = (
    "Harjit", "Gurpreet", "Jaswinder", "Manjit", "Amarjit", "Rajinder", "Sukhdev", "Baljit",
    "Kuldip", "Harpreet", "Arjun", "Jasdeep", "Navdeep", "Ravinder", "Gurdeep", "Harvinder",
    "Jaskaran", "Simranjit",
)  # fmt: skip
SIKH_FEMALE = (
    "Harjeet", "Gurpreet", "Jaspreet", "Manpreet", "Kiranjit", "Simran", "Amandeep", "Jasvinder",
    "Navneet", "Rajwinder", "Harleen", "Jasleen", "Sukhjeet",
)  # fmt: skip
SIKH_FAMILY_SURNAMES = ("Sandhu", "Gill", "Dhillon", "Sidhu", "Bains", "Johal", "Sahota", "Virdee")
HINDU_MALE = (
    "Rajesh", "Sanjay", "Vijay", "Amit", "Rahul", "Anil", "Deepak", "Ravi", "Krish", "Rohan",
    "Dev", "Aarav", "Vivek", "Nikhil",
)  # fmt: skip
HINDU_FEMALE = (
    "Priya", "Anjali", "Pooja", "Sunita", "Meena", "Nisha", "Kavita", "Asha", "Riya", "Diya",
    "Anika", "Shreya",
)  # fmt: skip
HINDU_SURNAMES = (
    "Patel", "Sharma", "Mistry", "Parmar", "Chauhan", "Lad", "Joshi", "Solanki", "Kumar", "Gohil",
)  # fmt: skip
WHITE_MALE = (
    "Jack", "Oliver", "Harry", "Charlie", "Alfie", "George", "Thomas", "Joshua", "James",
    "William", "Daniel", "Jacob", "Riley", "Mason", "Ethan", "Tyler", "Callum", "Kyle", "Jordan",
    "Connor", "Lewis", "Jake", "Joseph", "Samuel", "Benjamin", "Alexander", "Liam", "Ryan",
    "Dean", "Lee", "Craig", "Jamie", "Gary", "Mark", "Paul", "David", "John", "Michael",
    "Andrew", "Richard", "Robert", "Christopher", "Matthew", "Steven", "Anthony", "Peter",
    "Stephen", "Nicholas", "Edward", "Kenneth",
)  # fmt: skip
WHITE_FEMALE = (
    "Olivia", "Amelia", "Isla", "Ruby", "Lily", "Grace", "Ella", "Mia", "Evie", "Poppy",
    "Sophie", "Emily", "Jessica", "Chloe", "Holly", "Katie", "Lauren", "Hannah", "Charlotte",
    "Megan", "Amy", "Gemma", "Kelly", "Donna", "Laura", "Rebecca", "Nicola", "Joanne",
    "Michelle", "Lisa", "Claire", "Sarah", "Emma", "Stacey", "Leanne", "Kayleigh", "Samantha",
    "Victoria", "Elizabeth", "Catherine", "Margaret", "Susan", "Karen", "Jennifer", "Zoë",
    "Renée", "Chloé", "Abigail",
)  # fmt: skip
WHITE_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Walker", "Wood", "Robinson",
    "Thompson", "White", "Hughes", "Green", "Hall", "Wright", "Clarke", "Jackson", "Turner",
    "Harrison", "Holmes", "Shaw", "Lee", "Mitchell", "Sutcliffe", "Ackroyd", "Greenwood", "Hirst",
    "Haigh", "Barraclough", "Wainwright", "Illingworth", "Firth", "Priestley", "Pickles",
    "Crowther", "Holdsworth", "Booth", "Hainsworth", "Lister", "Rhodes", "Atkinson", "Kershaw",
    "Dawson", "O'Brien", "O'Neill", "Murphy", "Kelly", "Moore", "Marshall", "Bentley",
    "Midgley", "Stead", "Binns", "Horsfall",
)  # fmt: skip
EAST_EUROPEAN_MALE = (
    "Piotr", "Tomasz", "Krzysztof", "Pawel", "Marek", "Jakub", "Dušan", "Miroslav", "Ján",
    "Tomáš", "Lukáš", "Andrei", "Mihai", "Jonas", "Kamil", "Patrik",
)  # fmt: skip
EAST_EUROPEAN_FEMALE = (
    "Agnieszka", "Katarzyna", "Anna", "Magdalena", "Monika", "Zuzana", "Jana", "Marta", "Ioana",
    "Elena", "Renáta", "Veronika", "Malgorzata", "Natália",
)  # fmt: skip
EAST_EUROPEAN_SURNAMES = (
    "Kowalski", "Nowak", "Wójcik", "Lewandowski", "Zielinski", "Horváth", "Baláž", "Lakatoš",
    "Dudáš", "Gaži", "Oláh", "Popescu", "Ionescu", "Kazlauskas", "Kovács",
)  # fmt: skip
AFRICAN_MALE = ("Kwame", "Chidi", "Emeka", "Tunde", "Kofi", "Samuel", "Daniel", "Joseph", "Femi")
AFRICAN_FEMALE = (
    "Chiamaka", "Ngozi", "Amara", "Adaeze", "Blessing", "Precious", "Abena", "Ama", "Grace",
)  # fmt: skip
AFRICAN_SURNAMES = ("Okafor", "Adeyemi", "Mensah", "Boateng", "Okonkwo", "Asante", "Osei", "Eze")
CARIBBEAN_MALE = ("Tyrone", "Marcus", "Jermaine", "Delroy", "Winston", "Leon", "Andre", "Dwayne")
CARIBBEAN_FEMALE = ("Shantelle", "Marcia", "Janelle", "Keisha", "Tiana", "Jade", "Simone")
CARIBBEAN_SURNAMES = (
    "Williams", "Campbell", "Brown", "Thomas", "Francis", "Grant", "Clarke", "Richards", "Bailey",
)  # fmt: skip

# Heritage groups: (truth ethnicity, EHM ethnicity label, male, female, surnames).
HERITAGES: tuple[tuple[str, str, tuple, tuple, tuple], ...] = (
    ("White British", "White - British", WHITE_MALE, WHITE_FEMALE, WHITE_SURNAMES),
    ("Pakistani", "Asian or Asian British - Pakistani", MUSLIM_MALE, MUSLIM_FEMALE,
     PAKISTANI_SURNAMES),
    ("Bangladeshi", "Asian or Asian British - Bangladeshi", MUSLIM_MALE, MUSLIM_FEMALE,
     BANGLADESHI_SURNAMES),
    ("Indian", "Asian or Asian British - Indian", MUSLIM_MALE, MUSLIM_FEMALE,
     INDIAN_MUSLIM_SURNAMES),
    ("Indian", "Asian or Asian British - Indian", SIKH_MALE, SIKH_FEMALE, SIKH_FAMILY_SURNAMES),
    ("Indian", "Asian or Asian British - Indian", HINDU_MALE, HINDU_FEMALE, HINDU_SURNAMES),
    ("White Other", "White - Any other White background", EAST_EUROPEAN_MALE,
     EAST_EUROPEAN_FEMALE, EAST_EUROPEAN_SURNAMES),
    ("Black African", "Black or Black British - African", AFRICAN_MALE, AFRICAN_FEMALE,
     AFRICAN_SURNAMES),
    ("Black Caribbean", "Black or Black British - Caribbean", CARIBBEAN_MALE, CARIBBEAN_FEMALE,
     CARIBBEAN_SURNAMES),
)  # fmt: skip
# The same heritages as the DfE's school census codes them (main and extended codes).
DFE_ETHNICITY = ("WBRI", "APKN", "ABAN", "AIND", "AIND", "AIND", "WOTH", "BAFR", "BCRB")
WHITE_BRITISH, PAKISTANI, BANGLADESHI, INDIAN_MUSLIM, SIKH, HINDU = 0, 1, 2, 3, 4, 5
EAST_EUROPEAN, BLACK_AFRICAN, BLACK_CARIBBEAN = 6, 7, 8
MUSLIM_HERITAGES = (PAKISTANI, BANGLADESHI, INDIAN_MUSLIM)
SOUTH_ASIAN_HERITAGES = (PAKISTANI, BANGLADESHI, INDIAN_MUSLIM, SIKH, HINDU)

# Nicknames people give, or staff write, in place of the formal name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Mohammed": ("Mo",),
    "Muhammad": ("Mo",),
    "Mohammad": ("Mo",),
    "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"),
    "Joseph": ("Joe",),
    "Samuel": ("Sam",),
    "Benjamin": ("Ben",),
    "Alexander": ("Alex",),
    "Edward": ("Ed", "Eddie"),
    "Anthony": ("Tony",),
    "Kenneth": ("Ken", "Kenny"),
    "Peter": ("Pete",),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Nicholas": ("Nick",),
    "Matthew": ("Matt",),
    "Andrew": ("Andy",),
    "Richard": ("Rich", "Rick"),
    "David": ("Dave",),
    "Jennifer": ("Jenny", "Jen"),
    "Margaret": ("Maggie",),
    "Catherine": ("Kate", "Cathy"),
    "Rebecca": ("Becky",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky",),
    "Jessica": ("Jess",),
    "Charlotte": ("Charlie",),
    "Susan": ("Sue",),
    "Nicola": ("Nicky",),
    "Joanne": ("Jo",),
    "Olivia": ("Liv",),
    "Amelia": ("Millie",),
    "Abigail": ("Abbie",),
    "Oliver": ("Ollie",),
    "Joshua": ("Josh",),
    "Jacob": ("Jake",),
    "Ibrahim": ("Ibby",),
    "Abdullah": ("Abdul",),
    "Zakariya": ("Zak",),
    "Tomasz": ("Tom",),
    "Piotr": ("Peter",),
    "Krzysztof": ("Chris",),
    "Jakub": ("Kuba",),
    "Katarzyna": ("Kasia",),
    "Agnieszka": ("Aga",),
    "Malgorzata": ("Gosia",),
    "Harvinder": ("Harv",),
    "Gurpreet": ("Preet",),
    "Rajinder": ("Raj",),
    "Rajesh": ("Raj",),
}

# Spellings of one name in the Latin alphabet: any member may be recorded for any other.
TRANSLITERATIONS: tuple[tuple[str, ...], ...] = (
    ("Mohammed", "Muhammad", "Mohammad", "Mohamed", "Muhammed"),
    ("Hussain", "Hussein", "Husain"),
    ("Ayesha", "Aisha", "Aysha"),
    ("Nasreen", "Nasrin"),
    ("Yusuf", "Yousuf", "Yousaf"),
    ("Usman", "Osman"),
    ("Umar", "Omar"),
    ("Ahmed", "Ahmad"),
    ("Choudhry", "Chaudhry", "Choudhury", "Chowdhury"),
    ("Rehman", "Rahman"),
    ("Fatima", "Fatimah"),
    ("Khadija", "Khadijah"),
    ("Zainab", "Zaynab"),
    ("Maryam", "Mariam"),
    ("Yasmin", "Yasmeen"),
    ("Parveen", "Perveen"),
    ("Rukhsana", "Ruksana"),
    ("Mahmood", "Mahmud", "Mehmood"),
    ("Ibrahim", "Ebrahim"),
    ("Ismail", "Ismael"),
    ("Qureshi", "Kureshi"),
    ("Sheikh", "Shaikh"),
    ("Uddin", "Udin"),
    ("Tariq", "Tarik"),
    ("Javed", "Javaid"),
    ("Hamza", "Hamzah"),
    ("Saima", "Sayma"),
    ("Jaswinder", "Jasvinder"),
    ("Harjit", "Harjeet"),
    ("Amarjit", "Amarjeet"),
    ("Zakariya", "Zakaria", "Zakariyya"),
    ("Haris", "Harris"),
    ("Hafsa", "Hafsah"),
    ("Iqra", "Ikra"),
    ("Bushra", "Bushrah"),
    ("Rizwan", "Rizvan"),
    ("Shabir", "Shabbir"),
    ("Miah", "Mia"),
    ("Hoque", "Haque", "Huq"),
)

VARIANTS: dict[str, tuple[str, ...]] = {}
for _group in TRANSLITERATIONS:
    for _name in _group:
        VARIANTS[_name] = tuple(v for v in _group if v != _name)

KEYBOARD_NEIGHBOURS = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def zipf_weights(n: int, power: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** power
    return w / w.sum()


def strip_diacritics(name: str) -> str:
    """Zoë -> Zoe, Lakatoš -> Lakatos: what a system without accents keeps."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def has_diacritics(name: str) -> bool:
    return strip_diacritics(name) != name


def typo(name: str, rng: np.random.Generator) -> str:
    """One keyboard slip: a letter substituted (often by a neighbouring key), dropped or doubled.

    Always exactly one edit from the original, ignoring case, and never empty.
    """
    lower = name.lower()
    letters = [i for i, c in enumerate(lower) if c.isalpha()]
    for _ in range(10):
        i = letters[int(rng.integers(0, len(letters)))]
        op = int(rng.integers(0, 3)) if len(lower) > 2 else 0
        c = lower[i]
        if op == 0:  # substitute
            pool = KEYBOARD_NEIGHBOURS.get(c, "aeiou")
            new = pool[int(rng.integers(0, len(pool)))]
            if new == c:
                continue
            new = new.upper() if name[i].isupper() else new
            out = name[:i] + new + name[i + 1 :]
        elif op == 1:  # drop a letter
            out = name[:i] + name[i + 1 :]
        else:  # double a letter
            out = name[: i + 1] + name[i].lower() + name[i + 1 :]
        if out and out.lower() != lower and out[0].isalpha():
            return out[0].upper() + out[1:] if name[0].isupper() else out
    return name + "e"  # unreachable in practice; still exactly one edit


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
