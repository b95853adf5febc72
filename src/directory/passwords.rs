//! Stored password digests: Muster's own bcrypt hashes and the digests a dialect imports
//! unchanged (Logto's `passwordDigest` + `passwordAlgorithm`), checked when a password is
//! verified. Every algorithm here is verified by a maintained RustCrypto / bcrypt crate.

use argon2::password_hash::{PasswordHash as Phc, PasswordVerifier};
use sha1::Digest;
use subtle::ConstantTimeEq;

use crate::domain::PasswordHash;

/// The algorithms an imported digest may use, by Logto's names; the stored name is
/// `bcrypt` for bcrypt (Muster's own) and Logto's name otherwise.
const ALGORITHMS: [(&str, &str); 7] = [
    ("Bcrypt", "bcrypt"),
    ("Argon2i", "Argon2i"),
    ("Argon2id", "Argon2id"),
    ("Argon2d", "Argon2d"),
    ("SHA1", "SHA1"),
    ("SHA256", "SHA256"),
    ("MD5", "MD5"),
];

/// Longest digest accepted (Logto's limit).
pub const MAX_DIGEST_LEN: usize = 256;

/// An imported digest, checked so that it can be verified later: a bcrypt hash (`$2a$`,
/// `$2b$`, `$2y$`), an Argon2 PHC string of the named variant, or the hex digest of SHA-1,
/// SHA-256 or MD5. Anything else is refused with the reason, rather than stored as a
/// password nobody could ever sign in with.
pub fn import(algorithm: &str, digest: &str) -> Result<PasswordHash, String> {
    if digest.is_empty() || digest.len() > MAX_DIGEST_LEN {
        return Err(format!(
            "passwordDigest must be 1 to {MAX_DIGEST_LEN} characters"
        ));
    }
    let Some(&(_, stored)) = ALGORITHMS.iter().find(|(name, _)| *name == algorithm) else {
        return Err(if algorithm == "Legacy" {
            "passwordAlgorithm Legacy is not supported: import the digest with its own \
             algorithm"
                .to_string()
        } else {
            format!(
                "passwordAlgorithm must be one of {}",
                ALGORITHMS.map(|(n, _)| n).join(", ")
            )
        });
    };
    let ok = match stored {
        "bcrypt" => {
            ["$2a$", "$2b$", "$2y$"]
                .iter()
                .any(|p| digest.starts_with(p))
                && digest.parse::<bcrypt::HashParts>().is_ok()
        }
        argon => Phc::new(digest).is_ok_and(|p| p.algorithm.as_str() == argon.to_lowercase()),
    };
    let hex_len = match stored {
        "SHA1" => Some(40),
        "SHA256" => Some(64),
        "MD5" => Some(32),
        _ => None,
    };
    let ok = match hex_len {
        Some(n) => digest.len() == n && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        None => ok,
    };
    if !ok {
        return Err(format!("passwordDigest is not a valid {algorithm} digest"));
    }
    let hash = if hex_len.is_some() {
        digest.to_ascii_lowercase()
    } else {
        digest.to_string()
    };
    Ok(PasswordHash {
        hash,
        algorithm: stored.to_string(),
    })
}

fn hex_eq(computed: &[u8], stored: &str) -> bool {
    hex::encode(computed)
        .as_bytes()
        .ct_eq(stored.as_bytes())
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
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    fn imported(alg: &str, digest: &str) -> PasswordHash {
        import(alg, digest).unwrap_or_else(|e| panic!("{alg}: {e}"))
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
            ("SHA256", "abc"),
            ("SHA1", &"z".repeat(40)),
            ("MD5", ""),
            (
                "Argon2id",
                "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            ),
            ("Legacy", "[\"md5\",\"x\"]"),
            ("ROT13", "abc"),
        ] {
            assert!(import(alg, digest).is_err(), "{alg} {digest:?} accepted");
        }
        assert!(import("SHA1", &"a".repeat(300)).is_err());
    }

    #[test]
    fn unknown_stored_algorithms_never_match() {
        let h = PasswordHash {
            hash: "x".into(),
            algorithm: "Legacy".into(),
        };
        assert!(!verify(&h, "x"));
    }
}
