//! Property: writing a `<body/>` and parsing it back gives the same attributes and payloads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use zxmpp_bosh::{Body, BodyType, Condition, Limits, Rid, Version};

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>'\"@./:_-]{0,16}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        Just(Condition::BadRequest),
        Just(Condition::ItemNotFound),
        Just(Condition::PolicyViolation),
        Just(Condition::SeeOtherUri),
        Just(Condition::RemoteStreamError),
        "[a-z-]{1,12}".prop_map(|s| Condition::parse(&s)),
    ]
}

prop_compose! {
    fn body()(
        rid in proptest::option::of(1u64..=Rid::MAX),
        ack in proptest::option::of(1u64..=Rid::MAX),
        report in proptest::option::of(1u64..=Rid::MAX),
        nums in proptest::collection::vec(proptest::option::of(any::<u32>()), 7),
        time in proptest::option::of(any::<u64>()),
        strings in proptest::collection::vec(opt_text(), 14),
        kind in proptest::option::of(prop_oneof![Just(BodyType::Terminate), Just(BodyType::Error), "[a-z]{1,8}".prop_map(|s| BodyType::parse(&s))]),
        condition in proptest::option::of(condition()),
        secure in proptest::option::of(any::<bool>()),
        restart in proptest::option::of(any::<bool>()),
        logic in proptest::option::of(any::<bool>()),
        ver in proptest::option::of((0u32..5, 0u32..20)),
        other in proptest::collection::vec(("zz[a-z]{1,5}", text()), 0..3),
    ) -> Body {
        let mut b = Body::default();
        b.rid = rid.and_then(Rid::new);
        b.ack = ack.and_then(Rid::new);
        b.report = report.and_then(Rid::new);
        b.wait = nums[0]; b.hold = nums[1]; b.requests = nums[2]; b.polling = nums[3];
        b.inactivity = nums[4]; b.maxpause = nums[5]; b.pause = nums[6];
        b.time = time;
        let s = strings;
        b.sid = s[0].clone(); b.key = s[1].clone(); b.newkey = s[2].clone(); b.to = s[3].clone();
        b.from = s[4].clone(); b.route = s[5].clone(); b.lang = s[6].clone(); b.content = s[7].clone();
        b.charsets = s[8].clone(); b.accept = s[9].clone(); b.stream = s[10].clone(); b.authid = s[11].clone();
        b.xmpp_version = s[12].clone();
        b.kind = kind;
        b.condition = condition;
        b.secure = secure;
        b.xmpp_restart = restart;
        b.xmpp_restartlogic = logic;
        b.ver = ver.map(|(major, minor)| Version { major, minor });
        let mut seen = std::collections::HashSet::new();
        b.other_attributes = other.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        b
    }
}

proptest! {
    #[test]
    fn body_write_parse_round_trip(b in body(), payloads in proptest::collection::vec("<[a-z]{1,6}( a='[a-z]{0,5}(&amp;|&lt;)?')?/>", 0..5)) {
        let bytes = b.to_bytes(payloads.iter().map(|p| p.as_bytes()));
        let parsed = Body::parse(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(&parsed.body, &b);
        let got: Vec<&[u8]> = parsed.payload_bytes().collect();
        let want: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn body_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Body::parse(&bytes, &Limits::default());
    }
}
