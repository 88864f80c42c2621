/// A name for a container started without `--name`, as docker makes them: `adjective_surname`
/// of a scientist or engineer, and after a collision the same with a digit (`_3`). About 7,500
/// combinations before digits; the caller retries while the name it got is taken.
public enum GeneratedName {
    static let adjectives = [
        "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold",
        "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending", "confident", "cool",
        "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated",
        "elegant", "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty",
        "funny", "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful",
        "hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing",
        "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
        "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical",
        "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic",
        "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
        "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ]

    static let surnames = [
        "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage", "banach",
        "bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "bhaskara", "blackwell", "bohr", "booth",
        "borg", "bose", "bouman", "boyd", "brahmagupta", "brattain", "brown", "buck", "burnell", "cannon",
        "carson", "cartwright", "cerf", "chandrasekhar", "chaplygin", "chatelet", "chaum", "clarke", "cohen", "colden",
        "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison", "einstein",
        "elion", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat", "fermi", "feynman", "franklin",
        "gagarin", "galileo", "gates", "gauss", "germain", "goldberg", "goldstine", "goodall", "gould", "hamilton",
        "haslett", "hawking", "heisenberg", "hellman", "hermann", "herschel", "hertz", "hodgkin", "hofstadter", "hopper",
        "hugle", "hypatia", "jackson", "jang", "jemison", "jennings", "jepsen", "johnson", "joliot", "jones",
        "kalam", "kapitsa", "keller", "kepler", "khayyam", "khorana", "kilby", "kirch", "knuth", "kowalevski",
        "lalande", "lamarr", "lamport", "leakey", "leavitt", "lederberg", "lehmann", "lewin", "lichterman", "liskov",
        "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy", "mcclintock", "mclean",
        "meitner", "mendel", "mendeleev", "merkle", "mestorf", "mirzakhani", "montalcini", "moore", "morse", "moser",
        "napier", "nash", "neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce", "panini",
        "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras", "proskuriakova", "ptolemy",
        "raman", "ramanujan", "rhodes", "ride", "ritchie", "robinson", "roentgen", "rosalind", "rubin", "saha",
        "sammet", "sanderson", "satoshi", "shamir", "shannon", "shaw", "shirley", "shockley", "sinoussi", "snyder",
        "solomon", "spence", "stonebraker", "sutherland", "swanson", "swartz", "swirles", "taussig", "tereshkova", "tesla",
        "tharp", "thompson", "torvalds", "tu", "turing", "varahamihira", "vaughan", "villani", "visvesvaraya", "volhard",
        "wescoff", "wilbur", "wiles", "williams", "williamson", "wilson", "wing", "wozniak", "wright", "wu",
        "yalow", "yonath", "zhukovsky",
    ]

    /// The name for `attempt` (0, 1, ...) with randomness from `random` (a uniform UInt64): no
    /// digit on the first attempt, a digit 1-9 after.
    public static func make(attempt: Int, random: () -> UInt64) -> String {
        let adjective = adjectives[Int(random() % UInt64(adjectives.count))]
        let surname = surnames[Int(random() % UInt64(surnames.count))]
        // docker's one exception.
        if adjective == "boring" && surname == "wozniak" { return make(attempt: attempt, random: random) }
        let base = adjective + "_" + surname
        return attempt == 0 ? base : base + "_" + String(1 + random() % 9)
    }
}
