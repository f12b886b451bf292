//! SSH public key validation (parsing is done by the `ssh-key` crate).

use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, PublicKey};

/// Which keys are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Smallest accepted RSA modulus, in bits (default 2048).
    pub min_rsa_bits: u32,
    /// Accept ECDSA (NIST P-256/384/521) keys (default true).
    pub allow_ecdsa: bool,
    /// Accept FIDO security keys (`sk-ssh-ed25519@openssh.com`,
    /// `sk-ecdsa-sha2-nistp256@openssh.com`) (default true).
    pub allow_security_keys: bool,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            min_rsa_bits: 2048,
            allow_ecdsa: true,
            allow_security_keys: true,
        }
    }
}

/// A public key that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValidKey {
    /// Normalized OpenSSH line: `<algorithm> <base64> [comment]`.
    pub openssh: String,
    /// Algorithm name, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// SHA-256 fingerprint, `SHA256:<base64>` (what `ssh-keygen -l` prints); the key's identity.
    pub fingerprint: String,
    /// Modulus size for RSA keys.
    pub bits: Option<u32>,
}

/// Parses and checks one key line. The error is a one-line reason that never echoes the input
/// (it might be a private key pasted by mistake).
pub fn validate_key(line: &str, policy: &KeyPolicy) -> Result<ValidKey, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("empty key".to_owned());
    }
    if line.contains("PRIVATE KEY") {
        return Err("this is a private key; only public keys belong in the source".to_owned());
    }
    if line.starts_with("http://") || line.starts_with("https://") {
        return Err(
            "URL keys are not supported (fetched on every converge, and an outage empties them); list the keys themselves"
                .to_owned(),
        );
    }
    if line.contains('\n') || line.contains('\r') {
        return Err("a key must fit on one line".to_owned());
    }
    let key =
        PublicKey::from_openssh(line).map_err(|e| format!("not an OpenSSH public key ({e})"))?;
    let algorithm = key.algorithm();
    let mut bits = None;
    match key.key_data() {
        KeyData::Dsa(_) => return Err("DSA (ssh-dss) keys are not accepted".to_owned()),
        KeyData::Rsa(rsa) => {
            let b = rsa.n.as_positive_bytes().map_or(0, modulus_bits);
            if b < policy.min_rsa_bits {
                return Err(format!(
                    "RSA key of {b} bits; at least {} bits are required",
                    policy.min_rsa_bits
                ));
            }
            bits = Some(b);
        }
        KeyData::Ed25519(_) => {}
        KeyData::Ecdsa(_) if policy.allow_ecdsa => {}
        KeyData::Ecdsa(_) => return Err("ECDSA keys are not accepted by the policy".to_owned()),
        KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_) if policy.allow_security_keys => {}
        KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_) => {
            return Err("security-key (sk-*) keys are not accepted by the policy".to_owned());
        }
        _ => return Err(format!("unsupported key type {}", algorithm.as_str())),
    }
    if matches!(algorithm, Algorithm::Other(_)) {
        return Err(format!("unsupported key type {}", algorithm.as_str()));
    }
    let openssh = key
        .to_openssh()
        .map_err(|e| format!("key cannot be re-encoded ({e})"))?;
    Ok(ValidKey {
        openssh,
        algorithm: algorithm.as_str().to_owned(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        bits,
    })
}

/// The SHA-256 fingerprint of a key line, when it parses (used for keys read back from a
/// provider, which are not re-validated).
pub fn fingerprint_of(line: &str) -> Option<String> {
    PublicKey::from_openssh(line.trim())
        .ok()
        .map(|k| k.fingerprint(HashAlg::Sha256).to_string())
}

fn modulus_bits(bytes: &[u8]) -> u32 {
    let Some((first, rest)) = bytes.split_first() else {
        return 0;
    };
    let rest_bits = u32::try_from(rest.len())
        .unwrap_or(u32::MAX / 16)
        .saturating_mul(8);
    rest_bits.saturating_add(8 - first.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_from_the_top_bit() {
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(modulus_bits(&[1]), 1);
        assert_eq!(modulus_bits(&[0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x7f; 256]), 2047);
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        let err = validate_key(
            "-----BEGIN OPENSSH PRIVATE KEY----- abc",
            &KeyPolicy::default(),
        )
        .unwrap_err();
        assert!(!err.contains("abc"));
        assert!(validate_key("ssh-ed25519 !!!", &KeyPolicy::default()).is_err());
        assert!(validate_key("https://github.com/x.keys", &KeyPolicy::default()).is_err());
    }
}
