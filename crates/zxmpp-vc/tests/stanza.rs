//! The pre-ICE `apple:iq:vc:*` stanzas, from the reSIProcate ichat-gw examples in the research
//! notes (section 1a), filled with one hand-written 40-byte record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zxmpp_vc::{
    AddressRecord, Answer, Cancel, CounterProposal, IpPortData, Request, Response, VcIq, VcQuery,
};

const REQUEST: &[u8] = include_bytes!("data/ichat-gw-request.xml");
const ACCEPT: &[u8] = include_bytes!("data/ichat-gw-response-accept.xml");
const DECLINE: &[u8] = include_bytes!("data/ichat-gw-response-decline.xml");
const CANCEL: &[u8] = include_bytes!("data/ichat-gw-cancel.xml");
const COUNTER: &[u8] = include_bytes!("data/ichat-gw-counterproposal.xml");

fn en0() -> IpPortData {
    IpPortData::new(vec![
        AddressRecord::new("en0", "10.0.1.5:16402".parse().unwrap()).unwrap(),
    ])
}

#[test]
fn ichat_gw_request() {
    let iq = VcIq::parse(REQUEST).unwrap();
    assert_eq!(iq.iq_type, "set");
    assert_eq!(iq.id.as_deref(), Some("vc1"));
    assert_eq!(iq.to.as_deref(), Some("alice@example.com/iChat"));
    let VcQuery::Request(r) = iq.query else {
        panic!("not a request")
    };
    // The hex starts on a new line, as gloox hands it over.
    assert_eq!(r.caller_addresses, en0());
    assert_eq!(r.audio_only, Some(true));
    assert_eq!(r.ext_sip_port, Some(0));
    assert_eq!(r.ext_ip_addr, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(r.protocol_version, Some(1));
    assert!(r.extra.is_empty());
}

#[test]
fn ichat_gw_response_accept() {
    let VcQuery::Response(r) = VcQuery::parse(ACCEPT).unwrap() else {
        panic!("not a response")
    };
    assert_eq!(r.answer, Answer::Accept);
    assert_eq!(r.connect_data, en0());
    assert_eq!(r.protocol_version, Some(1));
}

#[test]
fn ichat_gw_response_decline() {
    let VcQuery::Response(r) = VcQuery::parse(DECLINE).unwrap() else {
        panic!("not a response")
    };
    assert_eq!(r.answer, Answer::Decline);
    assert!(r.connect_data.is_empty());
}

#[test]
fn ichat_gw_cancel() {
    let q = VcQuery::parse(CANCEL).unwrap();
    assert_eq!(q, VcQuery::Cancel(Cancel::new()));
}

#[test]
fn ichat_gw_counter_proposal() {
    let q = VcQuery::parse(COUNTER).unwrap();
    assert_eq!(q, VcQuery::CounterProposal(CounterProposal::new(en0())));
}

#[test]
fn builders_write_what_the_gateway_writes() {
    // Compare with the fixtures' query elements, whitespace removed and the leading line feed
    // of the request's hex dropped.
    fn query_of(doc: &[u8]) -> String {
        let s = std::str::from_utf8(doc).unwrap();
        let start = s.find("<query").unwrap();
        let end = s.find("</query>").unwrap() + "</query>".len();
        s[start..end]
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .concat()
    }
    let request = Request::new(en0())
        .audio_only(true)
        .external("127.0.0.1".parse().unwrap(), 0);
    assert_eq!(VcQuery::Request(request).to_xml(), query_of(REQUEST));
    assert_eq!(
        VcQuery::Response(Response::accept(en0())).to_xml(),
        query_of(ACCEPT)
    );
    assert_eq!(
        VcQuery::Response(Response::decline()).to_xml(),
        query_of(DECLINE)
    );
    assert_eq!(VcQuery::Cancel(Cancel::new()).to_xml(), query_of(CANCEL));
    assert_eq!(
        VcQuery::CounterProposal(CounterProposal::new(en0())).to_xml(),
        query_of(COUNTER)
    );
}

#[test]
fn iq_round_trip() {
    for q in [
        VcQuery::Request(Request::new(en0())),
        VcQuery::Response(Response::accept(en0())),
        VcQuery::Cancel(Cancel::new()),
        VcQuery::CounterProposal(CounterProposal::new(en0())),
    ] {
        let xml = q.to_iq("x1", "a@b/c", "d@e/f");
        let iq = VcIq::parse(xml.as_bytes()).unwrap();
        assert_eq!(iq.id.as_deref(), Some("x1"));
        assert_eq!(iq.from.as_deref(), Some("d@e/f"));
        assert_eq!(iq.query, q);
    }
}

#[test]
fn error_reply_with_code() {
    let xml = b"<iq type='error' id='vc1'><query xmlns='apple:iq:vc:request'/>\
                <error code='404' type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
    let iq = VcIq::parse(xml).unwrap();
    assert_eq!(iq.iq_type, "error");
    assert_eq!(iq.error_code, Some(404));
    assert!(matches!(iq.query, VcQuery::Request(ref r) if r.caller_addresses.is_empty()));
}

#[test]
fn unknown_children_are_kept() {
    let xml = b"<query xmlns='apple:iq:vc:cancel'><VCProtocolVersion>1</VCProtocolVersion><reason>busy &amp; away</reason></query>";
    let VcQuery::Cancel(c) = VcQuery::parse(xml).unwrap() else {
        panic!()
    };
    assert_eq!(c.extra.len(), 1);
    assert_eq!(c.extra[0].name, "reason");
    assert_eq!(c.extra[0].text, "busy & away");
    let again = VcQuery::Cancel(c.clone()).to_xml();
    assert!(again.contains("<reason>busy &amp; away</reason>"));
    assert_eq!(
        VcQuery::parse(again.as_bytes()).unwrap(),
        VcQuery::Cancel(c)
    );
}

#[test]
fn errors_carry_offsets() {
    let doc = b"<query xmlns='apple:iq:vc:response'><response>x</response></query>";
    let err = VcQuery::parse(doc).unwrap_err();
    let at = doc.windows(10).position(|w| w == b"<response>").unwrap();
    assert_eq!(err.offset(), Some(at as u64));
    let err = VcQuery::parse(b"<query xmlns='apple:iq:vc:response'/>").unwrap_err();
    assert!(matches!(
        err,
        zxmpp_vc::Error::MissingChild {
            child: "response",
            ..
        }
    ));
    let err = VcQuery::parse(b"<query xmlns='jabber:iq:version'/>").unwrap_err();
    assert!(matches!(err, zxmpp_vc::Error::NotAVcQuery { .. }));
    let err = VcQuery::parse(b"<query xmlns='apple:iq:vc:cancel'>").unwrap_err();
    assert!(matches!(err, zxmpp_vc::Error::Xml(_)));
    let err = VcQuery::parse(
        b"<query xmlns='apple:iq:vc:counterProposal'><connectData>00ff</connectData></query>",
    )
    .unwrap_err();
    assert!(matches!(
        err,
        zxmpp_vc::Error::InvalidPayload {
            child: "connectData",
            ..
        }
    ));
    // An address that is not one.
    let err = VcQuery::parse(
        b"<query xmlns='apple:iq:vc:request'><extIPAddr>localhost</extIPAddr></query>",
    )
    .unwrap_err();
    assert!(matches!(
        err,
        zxmpp_vc::Error::InvalidChild {
            child: "extIPAddr",
            expected: "an IP address",
            ..
        }
    ));
}

#[test]
fn invitation_hex_is_found_in_any_element() {
    let xml = b"<iq type='set'><query xmlns='apple:iq:vc:request'><x>0</x><y>\n62706c6973743030</y></query></iq>";
    let (bytes, offset) = zxmpp_vc::find_invitation_hex(xml).unwrap();
    assert_eq!(bytes, b"bplist00");
    assert_eq!(
        offset,
        xml.windows(3).position(|w| w == b"<y>").unwrap() as u64
    );
    assert!(matches!(
        zxmpp_vc::find_invitation_hex(b"<iq/>"),
        Err(zxmpp_vc::Error::NoInvitation)
    ));
}
