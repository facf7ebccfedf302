//! Byte sizes as users write them on the command line (`512MiB`, `1G`, `4096`): one parser, so
//! every size flag (`--max-memory`, budgets) accepts the same forms.

/// Binary and decimal unit suffixes, matched case-insensitively. `K`/`M`/`G`/`T` alone mean the
/// binary units, as `ls -h`, `du` and Kubernetes' `Ki` users expect of a memory size.
const UNITS: [(&str, u64); 18] = [
    ("", 1),
    ("b", 1),
    ("k", 1 << 10),
    ("kb", 1_000),
    ("kib", 1 << 10),
    ("ki", 1 << 10),
    ("m", 1 << 20),
    ("mb", 1_000_000),
    ("mib", 1 << 20),
    ("mi", 1 << 20),
    ("g", 1 << 30),
    ("gb", 1_000_000_000),
    ("gib", 1 << 30),
    ("gi", 1 << 30),
    ("t", 1 << 40),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
    ("ti", 1 << 40),
];

/// Parses a size in bytes: a whole number with an optional unit (`B`, `K`/`KiB`, `KB`, `M`/`MiB`,
/// `MB`, `G`/`GiB`, `GB`, `T`/`TiB`, `TB`), spaces between them allowed. `K`, `M`, `G` and `T`
/// alone are binary (1024-based); `KB`, `MB`, `GB` and `TB` are decimal.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "invalid size {text:?}: expected a whole number with an optional unit, like 512MiB, \
             1G or 4096"
        ));
    }
    let unit = unit.trim().to_ascii_lowercase();
    let Some(&(_, multiplier)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "invalid size {text:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB, K, M, G, T, \
             KB, MB, GB or TB)"
        ));
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: the number is too large"))?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("invalid size {text:?}: more than {} bytes", u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("300M"), Ok(300 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
        assert_eq!(parse_size(" 10gb "), Ok(10_000_000_000));
        assert_eq!(parse_size("7B"), Ok(7));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1Ti"), Ok(1 << 40));
    }

    #[test]
    fn rejects_what_is_not_a_size_with_a_reason() {
        let missing = parse_size("MiB").expect_err("no number");
        assert!(missing.contains("whole number"), "{missing}");
        assert!(parse_size("").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("1.5G").is_err(), "fractions are not accepted");
        let unit = parse_size("12 parsecs").expect_err("bad unit");
        assert!(unit.contains("unknown unit \"parsecs\""), "{unit}");
        let huge = parse_size("99999999999999999999").expect_err("overflow");
        assert!(huge.contains("too large"), "{huge}");
        let over = parse_size("20000000TiB").expect_err("overflow");
        assert!(over.contains("more than"), "{over}");
    }
}
