# frozen_string_literal: true

# Settings of user_setup (documented in README.md). The recipe checks them and fails the run
# on a bad value rather than guess.

# The data bag key-sync writes, and the search that reads it. Leave search_query nil: the
# recipe reads the whole bag and decides per item (a search by group would not return users
# who left the group, so their access could never be withdrawn).
default['user_setup']['data_bag'] = 'users'
default['user_setup']['search_query'] = nil

# The groups this node manages: users listing one of them get an account and their keys
# here; these groups are created, and their membership follows the bag. Empty: every user of
# the bag.
default['user_setup']['groups'] = ['sysadmin']
# Users managed here whatever their groups (e.g. a service account whose item has none).
default['user_setup']['users'] = []
# gid for a managed group the recipe creates (e.g. { 'sysadmin' => 2300 }); the system picks
# one otherwise.
default['user_setup']['group_ids'] = {}

# What a revoke does: 'lock' (keys emptied, out of the managed groups, shell locked_shell,
# password locked) or 'delete' (keys emptied, then the account deleted; its home too when
# remove_home is true).
default['user_setup']['remove_mode'] = 'lock'
default['user_setup']['remove_home'] = false
default['user_setup']['locked_shell'] = '/usr/sbin/nologin'

# New users: home under home_base, this shell unless the item gives one.
default['user_setup']['home_base'] = '/home'
default['user_setup']['default_shell'] = '/bin/bash'

# Never touched, even when the bag names them: these users, and any account whose uid is
# outside uid_min..uid_max (system and nobody-like accounts).
default['user_setup']['protected_users'] = ['root']
default['user_setup']['uid_min'] = 1000
default['user_setup']['uid_max'] = 60_000
