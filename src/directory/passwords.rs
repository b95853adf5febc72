//! Stored password digests: Muster's own bcrypt hashes and the digests a dialect imports
//! unchanged (Logto's `passwordDigest` + `passwordAlgorithm`), checked when a password is
//! verified. Every algorithm here is verified by a maintained RustCrypto / bcrypt crate.

use argon2::password_hash::{PasswordHash as Phc, PasswordVerifier};
use sha1::Digest;
use subtle::ConstantTimeEq;

use crate::domain::PasswordHash;

/// The algorithms an imported digest may use, by Logto's names; the stored name is
/// `bcrypt` for bcrypt (Muster's own) and Logto's name otherwise.
const ALGORITHMS: [(&str, &str); 8] = [
    ("Bcrypt", "bcrypt"),
    ("Argon2i", "Argon2i"),
    ("Argon2id", "Argon2id"),
    ("Argon2d", "Argon2d"),
    ("SHA1", "SHA1"),
    ("SHA256", "SHA256"),
    ("MD5", "MD5"),
    ("Legacy", "Legacy"),
];

/// Longest digest accepted (Logto's limit).
pub const MAX_DIGEST_LEN: usize = 256;

/// Why an imported digest is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The digest or algorithm is not one that can be stored (a 400 about the body).
    Invalid(String),
    /// A `Legacy` digest that is not Logto's hash expression
    /// `["<algorithm>", ["<arg>", …, "@", …], "<hash>"]`.
    LegacyFormat,
    /// A `Legacy` expression naming a hash this server does not compute.
    LegacyAlgorithm(String),
}

/// The hashes a `Legacy` expression may name (as Node's `crypto.createHash` names them,
/// case-insensitively), and `pbkdf2`.
const LEGACY_HASHES: [&str; 8] = [
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512-224",
    "sha512-256",
];

/// A parsed `Legacy` expression: the algorithm (lower-cased), its arguments (`@` is the
/// password), and the expected hash.
struct Legacy {
    algorithm: String,
    args: Vec<String>,
    hash: String,
}

fn is_pbkdf2(a: &str) -> bool {
    a == "pbkdf2" || a == "pbkdf2sync"
}

/// A PBKDF2 salt: the string's bytes, or `hex:<even hex digits>` decoded.
fn pbkdf2_salt(salt: &str) -> Result<Vec<u8>, Refusal> {
    match salt.strip_prefix("hex:") {
        None => Ok(salt.as_bytes().to_vec()),
        Some(h) if !h.is_empty() && h.len() % 2 == 0 => {
            hex::decode(h).map_err(|_| Refusal::LegacyFormat)
        }
        Some(_) => Err(Refusal::LegacyFormat),
    }
}

fn parse_legacy(digest: &str) -> Result<Legacy, Refusal> {
    let v: serde_json::Value = serde_json::from_str(digest).map_err(|_| Refusal::LegacyFormat)?;
    let parts = v
        .as_array()
        .filter(|a| a.len() == 3)
        .ok_or(Refusal::LegacyFormat)?;
    let (Some(alg), Some(args), Some(hash)) =
        (parts[0].as_str(), parts[1].as_array(), parts[2].as_str())
    else {
        return Err(Refusal::LegacyFormat);
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or(Refusal::LegacyFormat)?;
    if !args.iter().any(|a| a == "@") {
        return Err(Refusal::LegacyFormat);
    }
    let algorithm = alg.to_ascii_lowercase();
    if is_pbkdf2(&algorithm) {
        if let Some(salt) = args.first() {
            pbkdf2_salt(salt)?;
        }
    } else if !LEGACY_HASHES.contains(&algorithm.as_str()) {
        return Err(Refusal::LegacyAlgorithm(alg.to_string()));
    }
    Ok(Legacy {
        algorithm,
        args,
        hash: hash.to_string(),
    })
}

/// The hex digest `l` computes for `plain` (`None` when its arguments cannot be used).
fn legacy_hash(l: &Legacy, plain: &str) -> Option<String> {
    let resolved: Vec<&str> = l
        .args
        .iter()
        .map(|a| if a == "@" { plain } else { a.as_str() })
        .collect();
    if is_pbkdf2(&l.algorithm) {
        let [salt, iterations, key_len, digest, ..] = resolved.as_slice() else {
            return None;
        };
        let salt = pbkdf2_salt(salt).ok()?;
        let rounds: u32 = iterations.trim().parse().ok().filter(|n| *n >= 1)?;
        let len: usize = key_len
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))?;
        // Bounded so that a stored expression cannot make a verification run for minutes.
        if rounds > 10_000_000 {
            return None;
        }
        let mut out = vec![0u8; len];
        let p = plain.as_bytes();
        match digest.to_ascii_lowercase().as_str() {
            "sha1" => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(p, &salt, rounds, &mut out),
            "sha256" => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(p, &salt, rounds, &mut out),
            "sha384" => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(p, &salt, rounds, &mut out),
            "sha512" => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(p, &salt, rounds, &mut out),
            _ => return None,
        }
        return Some(hex::encode(out));
    }
    let input = resolved.concat();
    let b = input.as_bytes();
    Some(match l.algorithm.as_str() {
        "md5" => hex::encode(md5::Md5::digest(b)),
        "sha1" => hex::encode(sha1::Sha1::digest(b)),
        "sha224" => hex::encode(sha2::Sha224::digest(b)),
        "sha256" => hex::encode(sha2::Sha256::digest(b)),
        "sha384" => hex::encode(sha2::Sha384::digest(b)),
        "sha512" => hex::encode(sha2::Sha512::digest(b)),
        "sha512-224" => hex::encode(sha2::Sha512_224::digest(b)),
        "sha512-256" => hex::encode(sha2::Sha512_256::digest(b)),
        _ => return None,
    })
}

/// An imported digest, stored as given so that it can be verified later, as Logto accepts
/// them: for MD5, SHA1 and SHA256 any string of at most 256 characters (it matches when it
/// is the hex digest of the password); a bcrypt hash (`$2a$`, `$2b$`, `$2y$`) or an Argon2
/// PHC string of the named variant, parsed (those are refused with the reason rather than
/// stored as a password nobody could ever sign in with); `Legacy`, Logto's hash expression,
/// whose algorithm must be one this server computes (`LEGACY_HASHES`, `pbkdf2`).
pub fn import(algorithm: &str, digest: &str) -> Result<PasswordHash, Refusal> {
    if digest.chars().count() > MAX_DIGEST_LEN {
        return Err(Refusal::Invalid(format!(
            "passwordDigest is at most {MAX_DIGEST_LEN} characters"
        )));
    }
    let Some(&(_, stored)) = ALGORITHMS.iter().find(|(name, _)| *name == algorithm) else {
        return Err(Refusal::Invalid(format!(
            "passwordAlgorithm must be one of {}",
            ALGORITHMS.map(|(n, _)| n).join(", ")
        )));
    };
    let ok = match stored {
        "bcrypt" => {
            ["$2a$", "$2b$", "$2y$"]
                .iter()
                .any(|p| digest.starts_with(p))
                && digest.parse::<bcrypt::HashParts>().is_ok()
        }
        "Legacy" => parse_legacy(digest).map(|_| true)?,
        "SHA1" | "SHA256" | "MD5" => !digest.contains('\0'),
        argon => Phc::new(digest).is_ok_and(|p| p.algorithm.as_str() == argon.to_lowercase()),
    };
    if !ok {
        return Err(Refusal::Invalid(format!(
            "passwordDigest is not a valid {algorithm} digest"
        )));
    }
    Ok(PasswordHash {
        hash: digest.to_string(),
        algorithm: stored.to_string(),
    })
}

/// Is `stored` the hex digest `computed`? Compared in constant time, ignoring the case of
/// the hex digits (an upper-case hex digest imported matches).
fn hex_eq(computed: &[u8], stored: &str) -> bool {
    hex::encode(computed)
        .as_bytes()
        .ct_eq(stored.to_ascii_lowercase().as_bytes())
        .into()
}

/// Does `plain` match `stored`? Unknown algorithms never match.
pub fn verify(stored: &PasswordHash, plain: &str) -> bool {
    let p = plain.as_bytes();
    match stored.algorithm.as_str() {
        "bcrypt" => bcrypt::verify(plain, &stored.hash).unwrap_or(false),
        "Argon2i" | "Argon2id" | "Argon2d" => Phc::new(&stored.hash)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(p, &h).is_ok()),
        "SHA1" => hex_eq(&sha1::Sha1::digest(p), &stored.hash),
        "SHA256" => hex_eq(&sha2::Sha256::digest(p), &stored.hash),
        "MD5" => hex_eq(&md5::Md5::digest(p), &stored.hash),
        "Legacy" => parse_legacy(&stored.hash).is_ok_and(|l| {
            legacy_hash(&l, plain).is_some_and(|h| h.as_bytes().ct_eq(l.hash.as_bytes()).into())
        }),
        _ => false,
    }
}

/// The algorithm a stored digest is in, by Logto's names (`passwordAlgorithm`): `Bcrypt`
/// for Muster's own hashes.
pub fn logto_name(algorithm: &str) -> &str {
    ALGORITHMS
        .iter()
        .find(|(_, stored)| *stored == algorithm)
        .map_or(algorithm, |(name, _)| name)
}

/// The shortest password a person chooses in the console.
pub const MIN_CHOSEN: usize = 8;

/// The minimal policy for a password a person chooses for user `d` (the console's forms):
/// at least `MIN_CHOSEN` characters, not only whitespace, not the user's own login name or
/// email (case-insensitively), at most `MAX_PASSWORD_BYTES` bytes. Every dialect refuses an
/// empty or whitespace-only password (`hash_password`); the length and the name are the
/// console's, since the vendor APIs leave their own rules to the identity provider.
pub fn check_chosen(plain: &str, d: &crate::domain::UserData) -> Result<(), String> {
    if plain.trim().is_empty() {
        return Err("A password cannot be only spaces.".into());
    }
    if plain.chars().count() < MIN_CHOSEN {
        return Err(format!("At least {MIN_CHOSEN} characters."));
    }
    if plain.len() > super::MAX_PASSWORD_BYTES {
        return Err(format!("At most {} bytes.", super::MAX_PASSWORD_BYTES));
    }
    let own = [
        d.user_name.clone(),
        d.primary(crate::domain::MultiAttr::Emails)
            .and_then(|e| e.value.clone()),
    ];
    let lower = plain.trim().to_lowercase();
    if own
        .iter()
        .flatten()
        .any(|n| n.trim().to_lowercase() == lower)
    {
        return Err("The password cannot be the user's own name or email.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_password_policy() {
        let d = crate::domain::UserData {
            user_name: Some("Grace".into()),
            ..Default::default()
        };
        assert!(check_chosen("          ", &d)
            .unwrap_err()
            .contains("only spaces"));
        assert!(check_chosen("\t \n", &d)
            .unwrap_err()
            .contains("only spaces"));
        assert!(check_chosen("short", &d)
            .unwrap_err()
            .contains("At least 8"));
        // Characters, not bytes.
        assert!(check_chosen("äöüäöüä", &d).is_err());
        assert!(check_chosen("äöüäöüäö", &d).is_ok());
        assert!(check_chosen(&"x".repeat(73), &d)
            .unwrap_err()
            .contains("72"));
        let d = crate::domain::UserData {
            user_name: Some("grace.hopper".into()),
            ..Default::default()
        };
        assert!(check_chosen("GRACE.HOPPER", &d)
            .unwrap_err()
            .contains("own name"));
        assert!(check_chosen("correct horse 1", &d).is_ok());
    }
    use argon2::password_hash::{PasswordHasher, SaltString};

    fn imported(alg: &str, digest: &str) -> PasswordHash {
        import(alg, digest).unwrap_or_else(|e| panic!("{alg}: {e:?}"))
    }

    #[test]
    fn each_algorithm_verifies_its_digest() {
        let bc = bcrypt::hash("s3cret", 4).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let mut cases = vec![
            ("Bcrypt", bc),
            ("SHA1", hex::encode(sha1::Sha1::digest(b"s3cret"))),
            (
                "SHA256",
                hex::encode(sha2::Sha256::digest(b"s3cret")).to_uppercase(),
            ),
            ("MD5", hex::encode(md5::Md5::digest(b"s3cret"))),
            (
                "Legacy",
                format!(
                    "[\"sha256\", [\"salt\", \"@\"], \"{}\"]",
                    hex::encode(sha2::Sha256::digest(b"salts3cret"))
                ),
            ),
            (
                "Legacy",
                format!(
                    "[\"SHA512\", [\"@\"], \"{}\"]",
                    hex::encode(sha2::Sha512::digest(b"s3cret"))
                ),
            ),
            ("Legacy", {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"s3cret", &[0xab, 0xcd], 1000, &mut out);
                format!(
                    "[\"pbkdf2\", [\"hex:abcd\", \"1000\", \"32\", \"sha256\", \"@\"], \"{}\"]",
                    hex::encode(out)
                )
            }),
        ];
        for (name, alg) in [
            ("Argon2i", argon2::Algorithm::Argon2i),
            ("Argon2id", argon2::Algorithm::Argon2id),
            ("Argon2d", argon2::Algorithm::Argon2d),
        ] {
            let a = argon2::Argon2::new(alg, argon2::Version::V0x13, argon2::Params::default());
            cases.push((name, a.hash_password(b"s3cret", &salt).unwrap().to_string()));
        }
        for (alg, digest) in cases {
            let h = imported(alg, &digest);
            assert!(verify(&h, "s3cret"), "{alg} should match");
            assert!(!verify(&h, "s3creT"), "{alg} should not match");
            assert!(!verify(&h, ""), "{alg} should not match empty");
        }
    }

    #[test]
    fn bad_digests_are_refused_with_a_reason() {
        for (alg, digest) in [
            ("Bcrypt", "not-a-hash"),
            (
                "Argon2id",
                "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            ),
            ("ROT13", "abc"),
        ] {
            assert!(
                matches!(import(alg, digest), Err(Refusal::Invalid(_))),
                "{alg} {digest:?} accepted"
            );
        }
        for bad in [
            "[\"md5\",\"x\"]",
            "[\"md5\", [\"salt\"], \"x\"]",
            "nope",
            "[\"pbkdf2\", [\"hex:zz\", \"@\"], \"x\"]",
        ] {
            assert_eq!(
                import("Legacy", bad).unwrap_err(),
                Refusal::LegacyFormat,
                "{bad}"
            );
        }
        assert_eq!(
            import("Legacy", "[\"whirlpool\", [\"@\"], \"x\"]").unwrap_err(),
            Refusal::LegacyAlgorithm("whirlpool".into())
        );
        // Logto stores any string of up to 256 characters for the fast hashes.
        assert!(import("SHA256", "abc").is_ok());
        assert!(import("MD5", &"a".repeat(256)).is_ok());
        assert!(import("MD5", &"a".repeat(257)).is_err());
    }

    #[test]
    fn unknown_stored_algorithms_never_match() {
        let h = PasswordHash {
            hash: "x".into(),
            algorithm: "ROT13".into(),
        };
        assert!(!verify(&h, "x"));
        assert_eq!(logto_name("bcrypt"), "Bcrypt");
        assert_eq!(logto_name("Legacy"), "Legacy");
    }
}
