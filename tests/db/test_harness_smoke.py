def test_clone_has_schema_and_roles(school):
    count = school.admin.execute("SELECT count(*) FROM school.roles").fetchone()[0]
    assert count == 8
    sid = school.add_person("Student")
    with school.connect_as(sid) as conn:
        assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Student"
