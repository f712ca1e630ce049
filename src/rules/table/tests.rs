use super::*;

#[test]
fn values_are_written_out_as_rules_see_them() {
    let mut builder = UserTableBuilder::new();
    let a = builder.push_user();
    let b = builder.push_user();
    builder
        .set_datetime(
            a,
            "employeeHireDate",
            "2020-06-10T18:13:20Z".parse().unwrap(),
        )
        .unwrap();
    builder
        .set_strings(a, "otherMails", &["x@contoso.com", "y@contoso.com"])
        .unwrap();
    builder
        .set_assigned_plans(a, &[("efb87545-963c-4e0d-99df-69c6916d9eb0", "Enabled")])
        .unwrap();
    builder.set_bool(b, "accountEnabled", false).unwrap();
    let table = builder.finish();
    let name = |text: &str| {
        PropertyName::Known(property::lookup(ObjectKind::User, text).expect("known property"))
    };
    let value = |text: &str, user: u32| table.value_text(&name(text), user);
    assert_eq!(
        value("employeeHireDate", a).as_deref(),
        Some("2020-06-10T18:13:20Z")
    );
    assert_eq!(
        value("otherMails", a).as_deref(),
        Some("[x@contoso.com, y@contoso.com]")
    );
    assert_eq!(
        value("assignedPlans", a).as_deref(),
        Some("[efb87545-963c-4e0d-99df-69c6916d9eb0]")
    );
    assert_eq!(value("accountEnabled", b).as_deref(), Some("false"));
    assert_eq!(value("accountEnabled", a), None);
    assert_eq!(value("otherMails", b), None);
    assert_eq!(value("department", a), None, "no column at all");
    assert_eq!(value("otherMails", 7), None, "no such user");
    assert_eq!(table.manager_of(a), None);
}

#[test]
fn strings_are_dictionary_encoded() {
    let mut builder = UserTableBuilder::new();
    let a = builder.push_user();
    let b = builder.push_user();
    let c = builder.push_user();
    builder.set_string(a, "Department", "Sales").unwrap();
    builder.set_string(c, "department", "Sales").unwrap();
    builder.set_string(b, "DEPARTMENT", "").unwrap();
    let table = builder.finish();
    let id = property::lookup(ObjectKind::User, "department").unwrap();
    let Some(Column::Strings {
        codes, dictionary, ..
    }) = table.column(&ColumnKey::Known(id))
    else {
        panic!("string column expected");
    };
    assert_eq!(codes, &vec![0, NULL_CODE, 0]);
    assert_eq!(dictionary.len(), 1);
    assert_eq!(dictionary.lower(0), "sales");
}

#[test]
fn multi_values_replace_and_lay_out_by_user() {
    let mut builder = UserTableBuilder::new();
    let a = builder.push_user();
    let b = builder.push_user();
    builder
        .set_strings(b, "otherMails", &["x@a", "y@a"])
        .unwrap();
    builder.set_strings(a, "otherMails", &["old@a"]).unwrap();
    builder.set_strings(a, "othermails", &["new@a"]).unwrap();
    let table = builder.finish();
    let id = property::lookup(ObjectKind::User, "otherMails").unwrap();
    let Some(Column::Multi {
        offsets,
        codes,
        dictionary,
        ..
    }) = table.column(&ColumnKey::Known(id))
    else {
        panic!("multi column expected");
    };
    assert_eq!(offsets, &vec![0, 1, 3]);
    let values: Vec<&str> = codes
        .iter()
        .map(|code| &*dictionary.values[*code as usize])
        .collect();
    assert_eq!(values, vec!["new@a", "x@a", "y@a"]);
}

#[test]
fn setters_check_names_types_and_users() {
    let mut builder = UserTableBuilder::new();
    let user = builder.push_user();
    assert!(matches!(
        builder.set_string(user, "officeLocation", "x"),
        Err(TableError::UnknownProperty(_))
    ));
    assert!(matches!(
        builder.set_string(user, "accountEnabled", "true"),
        Err(TableError::WrongType { .. })
    ));
    assert!(matches!(
        builder.set_string(user, "employeeHireDate", "yesterday"),
        Err(TableError::BadTimestamp { .. })
    ));
    assert_eq!(
        builder.set_bool(7, "accountEnabled", true),
        Err(TableError::UnknownUser(7))
    );
    builder
        .set_string(
            user,
            "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber",
            "12",
        )
        .unwrap();
}

#[test]
fn substring_search_finds_every_value_once() {
    let mut dictionary = Dictionary::default();
    for value in ["a", "AA", "aaa", "b\0a", "", "İx", "ba"] {
        dictionary.push(value.into());
    }
    let found = |needle: &str| dictionary.containing(needle).ones().collect::<Vec<_>>();
    // A hit reaching into the next value is not one; the next value is searched from its start.
    assert_eq!(found("aa"), [1, 2]);
    assert_eq!(found("a"), [0, 1, 2, 3, 6]);
    assert_eq!(
        found("b\0"),
        [3],
        "a needle with the separator is searched value by value"
    );
    assert_eq!(found(""), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(found("i̇x"), [5], "lowercased İ is longer than İ");
    assert_eq!(dictionary.lower(1), "aa");
    assert_eq!(dictionary.lower(4), "");
    assert_eq!(dictionary.get(3), Some(("b\0a", "b\0a")));
    assert_eq!(dictionary.get(7), None);
}

proptest::proptest! {
    #[test]
    fn substring_search_agrees_with_each_value(
        values in proptest::collection::vec("[aAbİ\0.]{0,6}", 0..40),
        needle in "[abi̇\0.]{0,3}",
    ) {
        let mut dictionary = Dictionary::default();
        for value in &values {
            dictionary.push(value.as_str().into());
        }
        let expected: Vec<usize> = (0..values.len())
            .filter(|code| values[*code].to_lowercase().contains(&needle))
            .collect();
        proptest::prop_assert_eq!(dictionary.containing(&needle).ones().collect::<Vec<_>>(), expected);
    }
}
