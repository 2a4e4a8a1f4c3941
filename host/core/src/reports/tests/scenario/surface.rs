//! Reports by name, as JSON and as tables; queries as JSON.

use super::*;

#[test]
fn reports_run_by_name_render_and_survive_json() {
    let e = story();
    let q = autumn();
    for kind in ReportKind::ALL {
        let report = run(
            kind.name().parse().expect("a report name"),
            &e,
            &q,
            &spend(),
        );
        assert_eq!(report.kind(), kind);
        let json = serde_json::to_string(&report).expect("json");
        assert!(json.starts_with(&format!("{{\"report\":\"{}\"", kind.name())));
        let back: Report = serde_json::from_str(&json).expect("back");
        assert_eq!(back, report);
        for table in report.tables() {
            assert!(!table.title.is_empty());
            for row in &table.rows {
                assert_eq!(row.len(), table.headers.len(), "{}", table.title);
            }
            let text = table.to_text();
            assert_eq!(
                text.lines().count(),
                table.rows.len() + 3,
                "title, headers, rule, rows"
            );
        }
    }
    assert!("report".parse::<ReportKind>().is_err());
    let funnel = run(ReportKind::Funnel, &e, &q, &[]).tables();
    let text = funnel[0].to_text();
    assert!(text.contains("prospect"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("prospect"))
        .expect("a prospect line");
    let cells: Vec<&str> = line.split_whitespace().collect();
    // stage, current, reached, to next (5/7), stays, median 23 h, p90 5 d, stuck.
    assert_eq!(
        cells,
        ["prospect", "1", "7", "71.4%", "6", "0.96", "5.00", "1"]
    );
}

#[test]
fn queries_read_from_json_and_refuse_what_they_do_not_know() {
    let q: ReportQuery = serde_json::from_str(
        r#"{"from": 1, "to": 2, "channel": "web", "medium": "paid", "segment": "tier:key", "stuck_days": 7}"#,
    )
    .expect("query");
    assert_eq!(q.segment, Some(Segment::Tier("key".into())));
    assert_eq!(
        (q.channel, q.medium, q.stuck_days()),
        (Some(Channel::Web), Some(Acquisition::Paid), 7)
    );
    assert!(serde_json::from_str::<ReportQuery>(r#"{"segment": "size:big"}"#).is_err());
    assert!(serde_json::from_str::<ReportQuery>(r#"{"chanel": "web"}"#).is_err());
    let spend: Spend = serde_json::from_str(
        r#"{"channel": "email", "from": 0, "to": 10, "amount": 5.5, "currency": "EUR"}"#,
    )
    .expect("spend");
    assert_eq!(spend.campaign, None);
    // Half of its period in range: half of it.
    assert_eq!(spend.in_range(Some(5), None), 2.75);
    // A one-off payment counts where it falls.
    let once = Spend { to: 0, ..spend };
    assert_eq!(
        (
            once.in_range(Some(0), Some(1)),
            once.in_range(Some(1), None)
        ),
        (5.5, 0.0)
    );
}

#[test]
fn tables_quote_csv_cells_and_align_numbers() {
    let t = Table {
        title: "t".into(),
        headers: vec!["name".into(), "n".into()],
        rows: vec![
            vec!["a, \"b\"".into(), "1".into()],
            vec!["c".into(), "10.5%".into()],
        ],
    };
    assert_eq!(t.to_csv(), "name,n\r\n\"a, \"\"b\"\"\",1\r\nc,10.5%\r\n");
    assert_eq!(
        t.to_text(),
        "t\nname        n\n------  -----\na, \"b\"      1\nc       10.5%\n"
    );
}
