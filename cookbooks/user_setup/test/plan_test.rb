# frozen_string_literal: true

require_relative 'test_helper'

# The planner over the traps the sous-chefs `users` cookbook's users reported (issue numbers
# of sous-chefs/users) and the edge cases around them. Every scenario that changes something
# is also applied (Simulator) and planned again: the second plan must be empty.
class PlanTest < Minitest::Test
  include PlanAssertions

  ALICE_KEYS = '/home/alice/.ssh/authorized_keys'
  ALICE_FILES = [ALICE_KEYS, "#{ALICE_KEYS}2"].freeze

  def test_new_user_gets_account_keys_and_membership_in_a_runnable_order
    items = [item('bob', groups: %w[sysadmin deploy], ssh_keys: [key(2)], comment: 'Bob')]
    first, after = assert_converges(items, host, groups: %w[sysadmin deploy])

    assert_equal %i[create_user ssh_dir key_file set_members set_members], first.steps.map { |s| s[:kind] }
    create = step_for(first, :create_user, 'bob')
    assert_equal({ kind: :create_user, name: 'bob', uid: nil, gid: nil, home: '/home/bob',
                   shell: '/bin/bash', comment: 'Bob' }, create)
    assert_equal "#{key(2)}\n", authorized_keys(after, '/home/bob')
    assert_equal 0o600, after.files['/home/bob/.ssh/authorized_keys'].mode
    assert_equal 'bob', after.files['/home/bob/.ssh'].owner
    assert_equal %w[alice bob localadmin], after.groups['sysadmin'].members
    assert_equal %w[bob], after.groups['deploy'].members
    assert_equal [fingerprint(key(2))], step_for(first, :key_file, '/home/bob/.ssh/authorized_keys')[:fingerprints]
    assert_equal({ paths: %w[/home/bob/.ssh/authorized_keys /home/bob/.ssh/authorized_keys2], state: 'present' },
                 first.proof['bob'])
  end

  def test_converged_host_gives_an_empty_plan
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])]
    result = plan(items, host)
    assert result.empty?, result.describe.inspect
    assert_empty result.warnings
  end

  # sous-chefs/users #336, #422: `action: remove` ignored unless the resource runs :remove.
  def test_action_remove_really_removes_access_lock_mode
    state = host(users: { 'alice' => user(1001, home: '/home/alice', password: :usable) })
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)], action: 'remove')]
    first, after = assert_converges(items, state)

    assert_equal '', authorized_keys(after, '/home/alice'), 'keys emptied even though the item still lists one'
    assert_equal %w[localadmin], after.groups['sysadmin'].members
    assert_equal '/usr/sbin/nologin', after.users['alice'].shell
    assert_equal :locked, after.users['alice'].password
    assert_equal %i[key_file set_members modify_user lock_user], first.steps.map { |s| s[:kind] }
    assert_equal 'locked', first.proof['alice'][:state]
  end

  def test_action_remove_really_removes_access_delete_mode
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [], action: 'remove')]
    first, after = assert_converges(items, host, remove_mode: 'delete')

    assert_nil after.users['alice']
    assert_equal '', authorized_keys(after, '/home/alice'), 'keys emptied before the account goes (home kept)'
    assert_equal %w[localadmin], after.groups['sysadmin'].members
    assert_equal({ kind: :remove_user, name: 'alice', remove_home: false }, first.steps.last)
    kinds = first.steps.map { |s| s[:kind] }
    assert_operator kinds.index(:key_file), :<, kinds.index(:remove_user)

    _, gone = assert_converges(items, host, remove_mode: 'delete', remove_home: true)
    assert_nil gone.files['/home/alice']
  end

  def test_action_remove_applies_whatever_the_groups
    items = [item('alice', action: 'remove')] # no groups, no keys: still a revoke
    _, after = assert_converges(items, host)
    assert_equal '', authorized_keys(after, '/home/alice')
    assert_equal %w[localadmin], after.groups['sysadmin'].members
  end

  def test_action_remove_for_a_user_not_on_this_host_is_a_no_op
    items = [item('carol', groups: ['sysadmin'], ssh_keys: [key(3)], action: 'remove')]
    result = plan(items, host)
    assert result.empty?, result.describe.inspect
    assert_equal({ paths: [], state: 'removed' }, result.proof['carol'])
  end

  # sous-chefs/users #402: membership never removed when a user leaves a group.
  def test_membership_removed_when_the_user_leaves_a_group
    state = host(groups: { 'deploy' => UserSetup::GroupState.new(gid: 2400, members: ['alice']) })
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])]
    first, after = assert_converges(items, state, groups: %w[sysadmin deploy])

    assert_equal [{ kind: :set_members, name: 'deploy', members: [] }], first.steps
    assert_equal [], after.groups['deploy'].members
    assert_equal %w[alice localadmin], after.groups['sysadmin'].members, 'the other group is kept'
  end

  def test_members_outside_the_bag_are_kept
    items = [item('bob', groups: ['sysadmin'], ssh_keys: [key(2)])]
    _, after = assert_converges(items, host)
    assert_includes after.groups['sysadmin'].members, 'localadmin'
    assert_includes after.groups['sysadmin'].members, 'alice', 'alice has no item: not the bag\'s to decide'
  end

  # sous-chefs/users #348: key changes skipped for users without `groups`.
  def test_key_change_applies_to_an_item_without_groups
    items = [item('alice', ssh_keys: [key(9)])]
    _, after = assert_converges(items, host, groups: [])
    assert_equal "#{key(9)}\n", authorized_keys(after, '/home/alice')

    _, after = assert_converges(items, host, groups: ['sysadmin'], users: ['alice'])
    assert_equal "#{key(9)}\n", authorized_keys(after, '/home/alice')
    assert_equal %w[localadmin], after.groups['sysadmin'].members, 'no groups: out of sysadmin'
  end

  def test_groups_as_a_single_string_or_missing_do_not_break_the_plan
    items = [item('bob', groups: 'sysadmin', ssh_keys: key(2)), item('erin', ssh_keys: [key(5)])]
    first, after = assert_converges(items, host)
    assert_equal "#{key(2)}\n", authorized_keys(after, '/home/bob'), 'ssh_keys as one string, as users_manage accepts'
    assert_includes after.groups['sysadmin'].members, 'bob'
    assert_nil after.users['erin'], 'erin is in no group of this node'
    assert_empty first.warnings
  end

  # sous-chefs/users #73, #76: an empty key list leaves authorized_keys as it was.
  def test_empty_key_list_empties_authorized_keys
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [])]
    first, after = assert_converges(items, host)
    assert_equal [{ kind: :key_file, path: ALICE_KEYS, owner: 'alice', group: 1001, content: '', fingerprints: [] }],
                 first.steps
    assert_equal '', authorized_keys(after, '/home/alice')
    assert_includes after.groups['sysadmin'].members, 'alice', 'an empty key list is not a removal'
  end

  def test_missing_key_list_leaves_authorized_keys_alone
    state = host(files: { ALICE_KEYS => file('alice', "#{key(1)}\n# hand-added\n#{key(8)}\n") })
    result = plan([item('alice', groups: ['sysadmin'])], state)
    assert result.empty?, result.describe.inspect
    assert_equal 'present', result.proof['alice'][:state]

    result = plan([item('alice', groups: ['sysadmin'], ssh_keys: nil)], state)
    assert result.empty?, 'ssh_keys: null is the same as absent'
  end

  def test_empty_key_list_and_no_file_writes_nothing
    items = [item('bob', groups: ['sysadmin'], ssh_keys: [])]
    first, after = assert_converges(items, host)
    assert_nil step_for(first, :key_file, '/home/bob/.ssh/authorized_keys')
    assert_nil after.files['/home/bob/.ssh']
  end

  def test_new_user_with_a_leftover_home_gets_its_old_keys_emptied
    state = host(files: { '/home/bob' => dir('1002', 0o755), '/home/bob/.ssh' => dir('1002'),
                          '/home/bob/.ssh/authorized_keys' => file('1002', "#{key(6)}\n") })
    items = [item('bob', groups: ['sysadmin'], ssh_keys: [])]
    _, after = assert_converges(items, state)
    assert_equal '', authorized_keys(after, '/home/bob')
    assert_equal 'bob', after.files['/home/bob/.ssh/authorized_keys'].owner
  end

  # OpenSSH's default AuthorizedKeysFile is `.ssh/authorized_keys .ssh/authorized_keys2`.
  def test_keys_in_authorized_keys2_are_emptied_too
    state = host(files: { "#{ALICE_KEYS}2" => file('alice', "#{key(8)}\n") })
    first, after = assert_converges([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state)
    assert_equal [[:key_file, "#{ALICE_KEYS}2"]], first.steps.map { |s| [s[:kind], s[:path]] }
    assert_equal '', after.files["#{ALICE_KEYS}2"].content
    assert_match(/authorized_keys2 holds keys/, first.warnings.first)

    _, after = assert_converges([item('alice', action: 'remove')], state)
    assert_equal ['', ''], ALICE_FILES.map { |f| after.files[f].content }
  end

  def test_authorized_keys2_without_keys_is_left_alone
    state = host(files: { "#{ALICE_KEYS}2" => file('alice', "# nothing here\n", 0o644) })
    result = plan([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state)
    assert result.empty?, result.describe.inspect
  end

  def test_duplicate_keys_are_written_once
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1), key(2), key(1, 'same key, other comment'), "no-pty #{key(2)}"])]
    first, after = assert_converges(items, host)
    assert_equal "#{key(1)}\n#{key(2)}\n", authorized_keys(after, '/home/alice')
    assert_equal 2, first.warnings.size
    assert_match(/key #3 repeats key #1 \(SHA256:/, first.warnings[0])
  end

  def test_options_and_comments_are_kept_verbatim
    line = %(from="10.0.0.0/8",command="/usr/bin/rsync --server \\"x y\\"",no-pty #{key(4, 'backup key (rotated 2024)')})
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [line, key(1)])]
    first, after = assert_converges(items, host)
    assert_equal "#{line}\n#{key(1)}\n", authorized_keys(after, '/home/alice')
    assert_equal [fingerprint(key(4)), fingerprint(key(1))], step_for(first, :key_file, ALICE_KEYS)[:fingerprints]
  end

  def test_invalid_keys_are_left_out_and_not_echoed
    secret = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u'
    items = [item('alice', groups: ['sysadmin'],
                           ssh_keys: ["-----BEGIN OPENSSH PRIVATE KEY-----#{secret}", key(2), "#{key(3)}\n#{key(4)}",
                                      'ssh-dss AAAAB3NzaC1kc3MAAACBAP', 17])]
    first, after = assert_converges(items, host)
    assert_equal "#{key(2)}\n", authorized_keys(after, '/home/alice'), 'the valid key replaces the old one'
    assert_equal 4, first.warnings.size
    first.warnings.each { |w| refute_includes w, secret }
    assert(first.warnings.any? { |w| w.include?('one line') }, 'a multi-line entry cannot inject lines')
  end

  def test_dsa_keys_are_refused
    blob = [ssh_string('ssh-dss') + ssh_string('p')].pack('m0')
    result = plan([item('alice', groups: ['sysadmin'], ssh_keys: ["ssh-dss #{blob}", key(1)])], host)
    assert result.empty?
    assert_match(/key #1 left out: DSA/, result.warnings.first)
  end

  def test_invalid_user_names_are_refused
    names = ['Root', '../etc', 'a b', '', 'x' * 33, '-rf', 'alice:x', "eve\n", '9lives', nil, 42, ['alice']]
    items = names.map { |n| item(n, groups: ['sysadmin'], ssh_keys: [key(1)]) } + ['not a hash', nil]
    result = plan(items, host)
    assert result.empty?, result.describe.inspect
    assert_equal names.size + 2, result.warnings.size
    assert_empty result.proof
    assert(plan([item('_svc.backup-1', groups: ['sysadmin'])], host).steps.any?, '_svc.backup-1 is a valid name')
  end

  def test_system_and_protected_users_are_never_touched
    state = host(users: { 'ubuntu' => user(1000, home: '/home/ubuntu') },
                 groups: { 'sysadmin' => UserSetup::GroupState.new(gid: 2300, members: %w[alice daemon ubuntu]) })
    items = %w[root daemon nobody ubuntu].flat_map do |n|
      [item(n, groups: ['sysadmin'], ssh_keys: [key(9)]), item(n, action: 'remove')]
    end
    result = plan(items + [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state, protected_users: %w[root ubuntu])
    assert result.empty?, result.describe.inspect
    assert_equal %w[alice daemon ubuntu], state.groups['sysadmin'].members
    assert_equal %w[alice], result.proof.keys
  end

  def test_new_user_with_a_system_uid_is_refused
    result = plan([item('svc', groups: ['sysadmin'], uid: 500, ssh_keys: [key(2)])], host)
    assert result.empty?, result.describe.inspect
    assert_match(/uid 500 is outside 1000..60000/, result.warnings.first)
  end

  def test_item_with_an_unknown_action_or_bad_field_is_refused_and_reported
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [], action: 'delete'),
             item('bob', groups: ['sysadmin'], ssh_keys: [key(2)], shell: 'bash'),
             item('carol', groups: ['sysadmin'], home: '/home/../etc'),
             item('dave', groups: ['sysadmin'], comment: "x:0:0"),
             item('erin', groups: { 'a' => 1 }),
             item('frank', groups: ['sysadmin'], uid: 'one thousand'),
             item('gina', groups: ['sysadmin'], gid: 'Not A Group')]
    result = plan(items, host)
    assert_empty result.steps, 'alice stays in sysadmin: a refused item changes nothing'
    assert_equal 7, result.warnings.size
    assert_equal({ paths: ALICE_FILES, state: 'refused' }, result.proof['alice'])
  end

  def test_existing_home_is_where_the_keys_go_and_uid_is_not_changed
    state = host(users: { 'alice' => user(1001, home: '/srv/alice') },
                 files: { '/srv/alice' => dir('alice', 0o755), ALICE_KEYS => nil, '/home/alice/.ssh' => nil })
    items = [item('alice', groups: ['sysadmin'], uid: 2001, home: '/home/alice', ssh_keys: [key(1)])]
    first, after = assert_converges(items, state)
    assert_equal "#{key(1)}\n", authorized_keys(after, '/srv/alice')
    assert_equal 1001, after.users['alice'].uid
    assert_equal 2, first.warnings.size
  end

  def test_existing_user_without_a_home_is_warned_about_not_failed
    state = host(users: { 'alice' => user(1001, home: '/home/alice', home_exists: false) },
                 files: { '/home/alice' => nil, '/home/alice/.ssh' => nil, ALICE_KEYS => nil })
    result = plan([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state)
    assert result.empty?, result.describe.inspect
    assert_match(%r{home /home/alice does not exist}, result.warnings.first)
  end

  def test_drifted_mode_and_owner_are_fixed
    state = host(files: { '/home/alice/.ssh' => dir('alice', 0o755),
                          ALICE_KEYS => file('root', "#{key(1)}\n", 0o664) })
    first, = assert_converges([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state)
    assert_equal %i[ssh_dir key_file], first.steps.map { |s| s[:kind] }
  end

  def test_symlinks_are_replaced_never_followed
    state = host(files: { ALICE_KEYS => symlink })
    first, after = assert_converges([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state)
    assert_equal [[:unlink, ALICE_KEYS], [:key_file, ALICE_KEYS]], first.steps.map { |s| [s[:kind], s[:path]] }
    assert_equal :file, after.files[ALICE_KEYS].kind

    state = host(files: { '/home/alice/.ssh' => symlink, ALICE_KEYS => nil })
    first, = assert_converges([item('alice', action: 'remove')], state)
    assert_equal [:unlink, '/home/alice/.ssh'], [first.steps[0][:kind], first.steps[0][:path]]
  end

  def test_shell_and_comment_updated_on_an_existing_user
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)], shell: '/bin/zsh', comment: 'Alice A.')]
    first, after = assert_converges(items, host)
    assert_equal [{ kind: :modify_user, name: 'alice', shell: '/bin/zsh', comment: 'Alice A.' }], first.steps
    assert_equal '/bin/zsh', after.users['alice'].shell
  end

  def test_numeric_gid_creates_the_private_group_first
    first, after = assert_converges([item('bob', groups: ['sysadmin'], gid: '3100', uid: 3100, ssh_keys: [key(2)])], host)
    assert_equal({ kind: :create_group, name: 'bob', gid: 3100 }, first.steps.first)
    assert_equal 3100, after.users['bob'].gid
  end

  def test_managed_group_is_created_with_its_configured_gid
    state = host(groups: { 'sysadmin' => nil })
    first, after = assert_converges([item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])], state,
                                    group_ids: { 'sysadmin' => 2300 })
    assert_equal({ kind: :create_group, name: 'sysadmin', gid: 2300 }, first.steps.first)
    assert_equal %w[alice], after.groups['sysadmin'].members
  end

  def test_user_outside_this_nodes_groups_is_left_alone_when_never_managed_here
    items = [item('alice', groups: ['deploy'], ssh_keys: [key(9)])]
    result = plan(items, host)
    assert_equal [{ kind: :set_members, name: 'sysadmin', members: ['localadmin'] }], result.steps,
                 'the bag puts alice outside sysadmin; her account and keys are not this node\'s business'
    assert_nil result.proof['alice']
  end

  def test_user_managed_here_before_who_leaves_this_nodes_groups_is_revoked
    items = [item('alice', groups: ['deploy'], ssh_keys: [key(1)]), item('bob', groups: ['sysadmin'], ssh_keys: [key(2)])]
    first, after = assert_converges(items, host, previous: { 'alice' => 'present' })
    assert_equal '', authorized_keys(after, '/home/alice')
    assert_equal '/usr/sbin/nologin', after.users['alice'].shell
    assert_equal 'locked', first.proof['alice'][:state]
  end

  def test_no_revoke_for_leaving_when_nobody_would_keep_a_key
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])]
    result = plan(items, host, groups: ['sysadmn'], previous: { 'alice' => 'present' })
    assert_empty(result.steps.reject { |s| s[:kind] == :create_group })
    assert_match(/not revoking alice/, result.warnings.first)
    assert_equal 'unmanaged', result.proof['alice'][:state]
  end

  def test_user_gone_from_the_bag_is_reported_not_revoked
    result = plan([item('bob', groups: ['sysadmin'], ssh_keys: [key(2)])], host, previous: { 'alice' => 'present', 'zed' => 'present' })
    assert_nil step_for(result, :key_file, ALICE_KEYS)
    assert_equal({ paths: ALICE_FILES, state: 'unmanaged' }, result.proof['alice'])
    assert_nil result.proof['zed'], 'no account: nothing to report'
    assert(result.warnings.any? { |w| w.start_with?('alice: managed here before') })
  end

  def test_returning_user_is_unlocked_and_gets_shell_and_keys_back
    locked = host(users: { 'alice' => user(1001, home: '/home/alice', shell: '/usr/sbin/nologin', password: :locked) },
                  groups: { 'sysadmin' => UserSetup::GroupState.new(gid: 2300, members: ['localadmin']) },
                  files: { ALICE_KEYS => file('alice', '') })
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)])]
    first, after = assert_converges(items, locked, previous: { 'alice' => 'locked' })
    assert_equal %i[modify_user unlock_user key_file set_members], first.steps.map { |s| s[:kind] }
    assert_equal :usable, after.users['alice'].password
    assert_equal '/bin/bash', after.users['alice'].shell

    result = plan(items, locked, previous: { 'alice' => 'present' })
    assert_nil step_for(result, :unlock_user, 'alice'), 'a lock this cookbook did not set is not lifted'
  end

  def test_lock_only_locks_a_password_that_can_log_in
    %i[none locked].each do |pw|
      state = host(users: { 'alice' => user(1001, home: '/home/alice', password: pw) })
      first, = assert_converges([item('alice', action: 'remove')], state)
      assert_nil step_for(first, :lock_user, 'alice'), pw.to_s
    end
  end

  def test_whole_scenario_converges_in_one_run
    state = host(users: { 'bob' => user(1002, home: '/home/bob', password: :usable), 'carol' => user(1003, home: '/home/carol') },
                 groups: { 'deploy' => UserSetup::GroupState.new(gid: 2400, members: %w[alice carol]) },
                 files: { '/home/bob' => dir('bob', 0o755), '/home/bob/.ssh' => dir('bob'),
                          '/home/bob/.ssh/authorized_keys' => file('bob', "#{key(2)}\n#{key(7)}\n"),
                          '/home/carol' => dir('carol', 0o755) })
    items = [
      item('alice', groups: ['sysadmin'], ssh_keys: [key(1), key(11)]),
      item('bob', groups: %w[sysadmin deploy], ssh_keys: [], action: 'remove'),
      item('carol', groups: ['deploy'], ssh_keys: [key(3)]),
      item('dave', groups: %w[deploy], ssh_keys: ["restrict #{key(4)}"], shell: '/bin/sh'),
      item('erin', groups: ['other'], ssh_keys: [key(5)])
    ]
    %w[lock delete].each do |mode|
      first, after = assert_converges(items, state, groups: %w[sysadmin deploy], remove_mode: mode)
      assert_equal %w[alice bob carol dave], first.proof.keys.sort
      assert_equal %w[localadmin alice].sort, after.groups['sysadmin'].members
      assert_equal %w[carol dave], after.groups['deploy'].members
      assert_equal "#{key(1)}\n#{key(11)}\n", authorized_keys(after, '/home/alice')
      assert_equal '', authorized_keys(after, '/home/bob')
      assert_nil after.users['erin']
    end
  end

  def test_config_refuses_bad_settings
    assert_raises(ArgumentError) { config(remove_mode: 'purge') }
    assert_raises(ArgumentError) { config(groups: ['Sys Admin']) }
    assert_raises(ArgumentError) { config(locked_shell: 'nologin') }
    assert_raises(ArgumentError) { config(uid_min: 5000, uid_max: 1000) }
    assert_raises(ArgumentError) { config(data_bag: '') }
  end

  def test_config_from_node_attributes
    c = UserSetup::Config.from_attributes('data_bag' => 'people', 'groups' => ['ops'], 'search_query' => nil,
                                          'remove_mode' => 'delete', 'installed' => { 'x' => {} },
                                          'group_ids' => { 'ops' => '2500' })
    assert_equal ['people', ['ops'], '*:*', 'delete', { 'ops' => 2500 }],
                 [c.data_bag, c.groups, c.search_query, c.remove_mode, c.group_ids]
  end

  def test_describe_never_prints_key_contents
    result = plan([item('bob', groups: ['sysadmin'], ssh_keys: [key(2)])], host)
    text = result.describe.join("\n")
    refute_includes text, key(2).split[1]
    assert_includes text, fingerprint(key(2))
  end
end
