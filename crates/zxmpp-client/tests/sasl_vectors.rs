//! SASL mechanisms against the example exchanges of RFC 5802 §5, RFC 7677 §3, RFC 6120 §9.2 and RFC 4616 §4.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zxmpp_client::sasl::{Mechanism, SaslError, Scram, plain};

#[test]
fn rfc5802_5_scram_sha1() {
    let mut s = Scram::new(
        Mechanism::ScramSha1,
        "user",
        "pencil",
        "fyko+d2lbbFgONRv9qkxdawL",
    )
    .unwrap();
    assert_eq!(s.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    let final_ = s
        .client_final(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        .unwrap();
    assert_eq!(
        final_,
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    s.verify_server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
        .unwrap();
}

#[test]
fn rfc7677_3_scram_sha256() {
    let mut s = Scram::new(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        "rOprNGfwEbeRWgbNEkqO",
    )
    .unwrap();
    assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let final_ = s
        .client_final(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        .unwrap();
    assert_eq!(
        final_,
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    s.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        .unwrap();
}

#[test]
fn rfc6120_9_2_scram_sha1_messages() {
    // The Base64 strings exactly as RFC 6120 §9.2.1 steps 4–7 show them.
    let mut s = Scram::new(
        Mechanism::ScramSha1,
        "juliet",
        "r0m30myr0m30",
        "oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA",
    )
    .unwrap();
    assert_eq!(
        B64.encode(s.client_first()),
        "biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ=="
    );
    let challenge = B64
        .decode(
            "cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQWUxMjQ2OTViLTY5YTktNGRlNi05YzMwLWI1MWIzODA4YzU5ZSxzPU5qaGtZVE0wTURndE5HWTBaaTAwTmpkbUxUa3hNbVV0TkRsbU5UTm1ORE5rTURNeixpPTQwOTY=",
        )
        .unwrap();
    let response = s.client_final(&challenge).unwrap();
    assert_eq!(
        B64.encode(response),
        "Yz1iaXdzLHI9b01zVEFBd0FBQUFNQUFBQU5QMFRBQUFBQUFCUFUwQUFlMTI0Njk1Yi02OWE5LTRkZTYtOWMzMC1iNTFiMzgwOGM1OWUscD1VQTU3dE0vU3ZwQVRCa0gyRlhzMFdEWHZKWXc9"
    );
    let success = B64
        .decode("dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289")
        .unwrap();
    s.verify_server_final(&success).unwrap();
}

#[test]
fn rfc4616_4_plain() {
    assert_eq!(
        B64.encode(plain("tim", "tanstaaftanstaaf")),
        "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
    );
}

#[test]
fn scram_rejects_a_wrong_server_signature() {
    let mut s = Scram::new(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        "rOprNGfwEbeRWgbNEkqO",
    )
    .unwrap();
    s.client_final(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    )
    .unwrap();
    assert_eq!(
        s.verify_server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        Err(SaslError::ServerSignature)
    );
    assert_eq!(
        s.verify_server_final(b"e=invalid-proof"),
        Err(SaslError::Server("invalid-proof".into()))
    );
}

#[test]
fn scram_rejects_bad_server_first_messages() {
    let new = || {
        Scram::new(
            Mechanism::ScramSha1,
            "user",
            "pencil",
            "fyko+d2lbbFgONRv9qkxdawL",
        )
        .unwrap()
    };
    // The server nonce must extend the client's.
    assert_eq!(
        new().client_final(b"r=other3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
        Err(SaslError::NonceMismatch)
    );
    assert_eq!(
        new().client_final(b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"),
        Err(SaslError::NonceMismatch)
    );
    assert_eq!(
        new().client_final(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0"),
        Err(SaslError::Iterations(0))
    );
    assert_eq!(
        new().client_final(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=4294967295"),
        Err(SaslError::Iterations(u32::MAX))
    );
    assert!(matches!(
        new().client_final(b"m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QQ==,i=1"),
        Err(SaslError::Malformed(_))
    ));
    assert!(matches!(
        new().client_final(b"s=QQ==,r=x,i=1"),
        Err(SaslError::Malformed(_))
    ));
    assert!(matches!(
        new().client_final(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=!!,i=1"),
        Err(SaslError::Malformed(_))
    ));
    assert!(matches!(
        new().client_final(b"garbage"),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn scram_escapes_the_username() {
    let s = Scram::new(Mechanism::ScramSha1, "a=b,c", "p", "nonce").unwrap();
    // RFC 5802 §5.1: "=" as "=3D", "," as "=2C".
    assert_eq!(s.client_first(), "n,,n=a=3Db=2Cc,r=nonce");
}
